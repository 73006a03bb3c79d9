using Bff.Configuration;
using Microsoft.Extensions.Options;

namespace Bff.Observability;

/// <summary>
/// The host's <see cref="ILoggerFactory"/>: the framework's own, wrapped to apply the gateway's logging policy to every
/// category and every provider (console, OpenTelemetry, a test's):
/// <list type="bullet">
/// <item>URL query values are blanked in every message, structured value and scope (<see cref="UrlQueryRedactor"/>).
/// Why here and not by raising some categories' minimum level: ASP.NET Core logs the full request URL at Information
/// ("Request starting … /signin-oidc?code=…&amp;state=…") and the OpenID Connect handler logs the received message at
/// Trace; an operator who turns logging up to diagnose a sign-in problem must not get the codes with it.</item>
/// <item>HttpClientFactory's header log entries (Trace) carry every header value as a structured value, even when the
/// message shows them redacted; the revocation call's <c>Authorization</c> header holds the client secret. Their
/// values are replaced by <c>*</c>.</item>
/// <item>Cookie data is blanked in every message, structured value, scope and exception (<see cref="CookieRedactor"/>):
/// Kestrel's bad-request log quotes the raw header line it rejected (a live session key with it), and the OpenID
/// Connect handler's Debug line after a challenge lists the Set-Cookie headers it wrote (the sign-in cookies' names
/// carry the protected nonce and the correlation id). Raising those categories' minimum level would not do: an operator
/// who turns them up to diagnose must not get the secrets with it.</item>
/// <item>A configuration refused at start-up is reported once, by <see cref="Configuration.BffHost"/>, as a list of
/// settings to fix; the host's own "Hosting failed to start" entry with the validation stack trace is dropped.</item>
/// </list>
/// </summary>
internal sealed class BffLoggerFactory(ILoggerFactory inner, CookieRedactor cookies) : ILoggerFactory
{
    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";
    private const string HttpClientCategoryPrefix = "System.Net.Http.HttpClient.";

    /// <summary>Microsoft.Extensions.Http's RequestHeader and ResponseHeader events.</summary>
    private const int RequestHeadersEvent = 102;
    private const int ResponseHeadersEvent = 103;

    /// <summary>Builds the framework's own <see cref="LoggerFactory"/> from the container, exactly as AddLogging would.</summary>
    public static BffLoggerFactory Create(IServiceProvider services) => new(
        new LoggerFactory(
            services.GetServices<ILoggerProvider>(),
            services.GetRequiredService<IOptionsMonitor<LoggerFilterOptions>>(),
            services.GetService<IOptions<LoggerFactoryOptions>>(),
            services.GetService<IExternalScopeProvider>()),
        CreateCookieRedactor(services.GetService<IConfiguration>()));

    /// <summary>
    /// The session cookie's configured name, read from configuration itself: the options are validated at start-up, and
    /// resolving them here (the logger factory comes first) would report a refused setting before the others.
    /// The sign-in cookies' prefixes without their <c>__Secure-</c>/<c>__Host-</c> part, so either spelling is matched,
    /// and ASP.NET Core's own defaults.
    /// </summary>
    internal static CookieRedactor CreateCookieRedactor(IConfiguration? configuration)
    {
        var sessionCookie = configuration?[$"{Configuration.BffOptions.SectionName}:Cookie:Name"];
        return new CookieRedactor(
            [string.IsNullOrWhiteSpace(sessionCookie) ? Configuration.CookieSettings.DefaultName : sessionCookie, Configuration.CookieSettings.DefaultName],
            [
                WithoutCookiePrefix(Configuration.CookieNames.SignInCorrelationPrefix),
                WithoutCookiePrefix(Configuration.CookieNames.SignInNoncePrefix),
                ".AspNetCore.Correlation.",
                ".AspNetCore.OpenIdConnect.Nonce.",
            ]);
    }

    private static string WithoutCookiePrefix(string name) =>
        name.StartsWith("__Secure-", StringComparison.Ordinal) ? name["__Secure-".Length..]
        : name.StartsWith("__Host-", StringComparison.Ordinal) ? name["__Host-".Length..]
        : name;

    public ILogger CreateLogger(string categoryName) =>
        new RedactingLogger(
            inner.CreateLogger(categoryName),
            cookies,
            dropStartupRefusal: categoryName == HostCategory,
            hideHeaderValues: categoryName.StartsWith(HttpClientCategoryPrefix, StringComparison.Ordinal));

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose() => inner.Dispose();

    private static bool IsStartupRefusal(Exception? exception) => exception switch
    {
        OptionsValidationException => true,
        AggregateException aggregate => aggregate.InnerExceptions.All(e => e is OptionsValidationException),
        _ => false,
    };

    private sealed class RedactingLogger(ILogger inner, CookieRedactor cookies, bool dropStartupRefusal, bool hideHeaderValues) : ILogger
    {
        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull
        {
            if (state is IReadOnlyList<KeyValuePair<string, object?>> pairs)
            {
                return inner.BeginScope(new LazyRedactedScope(state, pairs, cookies));
            }
            else if (state is string scope)
            {
                return inner.BeginScope(UrlQueryRedactor.Redact(cookies.Redact(scope)));
            }

            return inner.BeginScope(state);
        }

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!inner.IsEnabled(logLevel) || (dropStartupRefusal && IsStartupRefusal(exception)))
            {
                return;
            }

            exception = RedactedException.From(exception, cookies);

            if (hideHeaderValues && eventId.Id is RequestHeadersEvent or ResponseHeadersEvent
                && state is IReadOnlyList<KeyValuePair<string, object?>> headers)
            {
                var hidden = RedactedLogState.WithHeaderValuesHidden(formatter(state, exception), headers);
                inner.Log(logLevel, eventId, hidden, exception, static (s, _) => s.Message);
                return;
            }

            var message = formatter(state, exception);
            if (RedactedLogState.TryCreate(message, state as IReadOnlyList<KeyValuePair<string, object?>>, cookies, out var redacted))
            {
                inner.Log(logLevel, eventId, redacted, exception, static (s, _) => s.Message);
                return;
            }

            inner.Log(logLevel, eventId, state, exception, formatter);
        }
    }
}

/// <summary>
/// A scope's state, redacted when a provider first reads it. ASP.NET Core opens a scope for every request (its path and
/// request id) and most are never read: formatting and scanning each one up front was a measurable part of a proxied
/// call. Whoever reads it, by its values or its text, reads the redacted form.
/// </summary>
internal sealed class LazyRedactedScope(object original, IReadOnlyList<KeyValuePair<string, object?>> values, CookieRedactor cookies) : IReadOnlyList<KeyValuePair<string, object?>>
{
    private IReadOnlyList<KeyValuePair<string, object?>>? _values;
    private string? _text;

    public int Count => Redacted().Count;

    public KeyValuePair<string, object?> this[int index] => Redacted()[index];

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => Redacted().GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString()
    {
        Redacted();
        return _text!;
    }

    private IReadOnlyList<KeyValuePair<string, object?>> Redacted()
    {
        if (Volatile.Read(ref _values) is { } done)
        {
            return done;
        }

        // Racing readers compute the same result; the text is written before the values that mark it done.
        var text = original.ToString() ?? string.Empty;
        if (RedactedLogState.TryCreate(text, values, cookies, out var redacted))
        {
            _text = redacted.Message;
            Volatile.Write(ref _values, redacted);
        }
        else
        {
            _text = text;
            Volatile.Write(ref _values, values);
        }

        return _values;
    }
}

/// <summary>A log entry's state with URL query values and cookie data blanked in its message and in its structured values.</summary>
internal sealed class RedactedLogState : IReadOnlyList<KeyValuePair<string, object?>>
{
    private readonly KeyValuePair<string, object?>[] _values;

    private RedactedLogState(string message, KeyValuePair<string, object?>[] values)
    {
        Message = message;
        _values = values;
    }

    public string Message { get; }

    public int Count => _values.Length;

    public KeyValuePair<string, object?> this[int index] => _values[index];

    /// <summary>False (and null) when neither the message nor any value holds a query value to blank: the common case, without allocation.</summary>
    public static bool TryCreate(string message, IReadOnlyList<KeyValuePair<string, object?>>? values, CookieRedactor cookies, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out RedactedLogState? state)
    {
        var redactedMessage = UrlQueryRedactor.Redact(cookies.Redact(message));
        KeyValuePair<string, object?>[]? redactedValues = null;
        var count = values?.Count ?? 0;
        for (var i = 0; i < count; i++)
        {
            var (key, value) = values![i];
            var redactedValue = RedactValue(key, value, cookies);
            if (redactedValues is null && !ReferenceEquals(redactedValue, value))
            {
                redactedValues = new KeyValuePair<string, object?>[count];
                for (var j = 0; j < i; j++)
                {
                    redactedValues[j] = values[j];
                }
            }

            if (redactedValues is not null)
            {
                redactedValues[i] = new(key, redactedValue);
            }
        }

        if (redactedValues is null && ReferenceEquals(redactedMessage, message))
        {
            state = null;
            return false;
        }

        state = new RedactedLogState(redactedMessage, redactedValues ?? [.. values ?? []]);
        return true;
    }

    /// <summary>A header log entry: the first line of its message (e.g. "Request Headers:"), then each header name with "*".</summary>
    public static RedactedLogState WithHeaderValuesHidden(string message, IReadOnlyList<KeyValuePair<string, object?>> headers)
    {
        var text = new System.Text.StringBuilder(message.Split('\n')[0].TrimEnd('\r'));
        var values = new KeyValuePair<string, object?>[headers.Count];
        for (var i = 0; i < headers.Count; i++)
        {
            var key = headers[i].Key;
            if (key == "{OriginalFormat}")
            {
                values[i] = headers[i];
                continue;
            }

            values[i] = new(key, "*");
            text.Append('\n').Append(key).Append(": *");
        }

        return new RedactedLogState(text.ToString(), values);
    }

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)_values).GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => Message;

    private static object? RedactValue(string key, object? value, CookieRedactor cookies)
    {
        if (key == "{OriginalFormat}")
        {
            return value;
        }

        return value switch
        {
            string text => KeepIfUnchanged(UrlQueryRedactor.Redact(cookies.Redact(text)), text, text),
            Uri uri => KeepIfUnchanged(UrlQueryRedactor.Redact(uri.OriginalString), uri.OriginalString, uri),
            QueryString { HasValue: true } query => KeepIfUnchanged(UrlQueryRedactor.RedactQuery(query.Value!), query.Value!, value),
            _ => value,
        };
    }

    private static object KeepIfUnchanged(string redacted, string original, object value) =>
        ReferenceEquals(redacted, original) ? value : redacted;
}

/// <summary>
/// Stands in for a logged exception whose text holds cookie data or URL query values (Kestrel's
/// <c>BadHttpRequestException</c> quotes the header line it rejected): the same text, blanked, for every provider that
/// writes <see cref="Exception.ToString"/> or <see cref="Exception.Message"/>. The original type's name stays in the text.
/// </summary>
internal sealed class RedactedException : Exception
{
    private readonly string _text;

    private RedactedException(string message, string text)
        : base(message) => _text = text;

    public override string ToString() => _text;

    /// <summary>The exception itself when there is nothing to blank (the common case).</summary>
    public static Exception? From(Exception? exception, CookieRedactor cookies)
    {
        if (exception is null)
        {
            return null;
        }

        var text = exception.ToString();
        var redacted = UrlQueryRedactor.Redact(cookies.Redact(text));
        return ReferenceEquals(redacted, text)
            ? exception
            : new RedactedException(UrlQueryRedactor.Redact(cookies.Redact(exception.Message)), redacted);
    }
}
