using System.Diagnostics.CodeAnalysis;

namespace Bff.Observability;

/// <summary>
/// A decorator of the host's own <see cref="ILoggerFactory"/> (whichever it registered: the framework's, the
/// <c>ExtendedLoggerFactory</c> of <c>EnableRedaction()</c>, a third party's), so that every provider it feeds gets
/// URL query values and cookie data blanked in every message, structured value, scope and exception, whichever
/// category wrote them and at whatever level.
/// <para>
/// Why a decorator and not the platform's redaction (<c>Microsoft.Extensions.Compliance.Redaction</c> with
/// <c>EnableRedaction()</c>): that redacts the parameters a <c>[LoggerMessage]</c> method classifies, and the gateway's
/// own messages carry no secret to classify (session and subject ids are hashed before they are logged). The secrets
/// are in free text written by other libraries: ASP.NET Core logs the request URL at Information ("Request starting
/// … /signin-oidc?code=…&amp;state=…"), the OpenID Connect handler logs the received message at Trace and the
/// Set-Cookie headers it wrote at Debug (the sign-in cookies' names carry the protected nonce and the correlation id),
/// Kestrel's bad-request log quotes the raw header line it rejected (a live session key with it), YARP logs the
/// target URL. Raising those categories' minimum level would not do: an operator who turns them up to diagnose must
/// not get the secrets with it. Why not a decorator of each <see cref="ILoggerProvider"/>: providers added after
/// <c>AddBff</c> (or by <c>ILoggerFactory.AddProvider</c>) would escape it; every provider is reached through the
/// factory.
/// </para>
/// <para>
/// HttpClientFactory's default logger writes every request and response header at Trace, the values in the message and
/// in the entry's structured state, which <c>RedactLoggedHeaders</c> leaves raw (it blanks only the message). The
/// provider calls' <c>Authorization</c> holds the client secret, and the tokens <c>IBffAccessTokens</c> hands an
/// application's own clients travel in theirs: in those entries every value is replaced by <c>*</c>, in the message and
/// the state. (<c>Microsoft.Extensions.Http.Diagnostics</c>' logger, which writes no header, was tried for the provider
/// calls: with it, the metrics the host flushes when it stops were lost in 3 of 10 runs of TelemetryLeakTests.)
/// </para>
/// </summary>
internal sealed class BffLoggerFactory(ILoggerFactory inner, CookieRedactor cookies, bool ownsInner = true) : ILoggerFactory
{
    private const string HttpClientCategoryPrefix = "System.Net.Http.HttpClient.";

    /// <summary>Microsoft.Extensions.Http's RequestHeader and ResponseHeader events.</summary>
    private const int RequestHeadersEvent = 102;
    private const int ResponseHeadersEvent = 103;

    /// <summary>The host's factory itself (tests check which one it is).</summary>
    internal ILoggerFactory Inner => inner;

    /// <summary>
    /// Puts the decorator in front of the <see cref="ILoggerFactory"/> the host has registered so far (AddLogging's
    /// when it registered none of its own). The host's registration stays in place, and its factory is created from it
    /// as the container would, so its type, providers, filters and options are the host's. A factory registered after
    /// this would win over the decorator: <see cref="EnsureInPlace"/> refuses to start then.
    /// </summary>
    public static void Decorate(IServiceCollection services)
    {
        services.AddLogging();
        var hosts = services.LastOrDefault(d => d.ServiceType == typeof(ILoggerFactory) && !d.IsKeyedService)!;
        services.Add(ServiceDescriptor.Singleton<ILoggerFactory>(sp => new BffLoggerFactory(
            (ILoggerFactory)(hosts.ImplementationInstance
                ?? hosts.ImplementationFactory?.Invoke(sp)
                ?? ActivatorUtilities.CreateInstance(sp, hosts.ImplementationType!)),
            CookieRedactor.FromConfiguration(sp.GetService<IConfiguration>()),
            // As the container would: an instance the host registered is the host's to dispose.
            ownsInner: hosts.ImplementationInstance is null)));
    }

    /// <summary>
    /// Refuses an application whose <see cref="ILoggerFactory"/> is not the decorator: one registered after AddBff
    /// (<c>EnableRedaction()</c>, <c>UseSerilog()</c> or a test's) would write the secrets the decorator blanks.
    /// </summary>
    public static void EnsureInPlace(IServiceProvider services)
    {
        if (services.GetRequiredService<ILoggerFactory>() is not BffLoggerFactory)
        {
            throw new InvalidOperationException(
                "The application's ILoggerFactory was registered after AddBff (for example by EnableRedaction() or UseSerilog()), so "
                + "the gateway cannot keep URL query values and cookie data out of its logs. Register it before calling AddBff.");
        }
    }

    public ILogger CreateLogger(string categoryName) =>
        new RedactingLogger(
            inner.CreateLogger(categoryName),
            cookies,
            hideHeaderValues: categoryName.StartsWith(HttpClientCategoryPrefix, StringComparison.Ordinal));

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose()
    {
        if (ownsInner)
        {
            inner.Dispose();
        }
    }

    private sealed class RedactingLogger(ILogger inner, CookieRedactor cookies, bool hideHeaderValues) : ILogger
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
            if (!inner.IsEnabled(logLevel))
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
    public static bool TryCreate(string message, IReadOnlyList<KeyValuePair<string, object?>>? values, CookieRedactor cookies, [NotNullWhen(true)] out RedactedLogState? state)
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
