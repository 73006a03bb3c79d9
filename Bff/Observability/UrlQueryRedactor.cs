using System.Diagnostics;
using System.Text;
using OpenTelemetry;

namespace Bff.Observability;

/// <summary>
/// Blanks the values of URL query (and fragment) parameters wherever they appear in a piece of text:
/// <c>GET https://gw/signin-oidc?code=abc&amp;state=xyz</c> becomes <c>…?code=Redacted&amp;state=Redacted</c>.
/// The gateway's URLs carry the authorization code, the state (which protects the PKCE verifier), the
/// <c>id_token_hint</c> and PAR <c>request_uri</c>s in their query, and ASP.NET Core, HttpClient and the OpenID Connect
/// handler log and trace full URLs at some level. All values are blanked, not a list of known-secret ones: a query
/// value the gateway does not know (a return URL's own query) may be a secret too. Parameter names stay, for diagnosis.
/// </summary>
internal static class UrlQueryRedactor
{
    public const string Placeholder = "Redacted";

    /// <summary>Span attributes whose value is a bare query string (no leading '?').</summary>
    private static readonly HashSet<string> BareQueryAttributes = new(StringComparer.Ordinal) { "url.query", "http.query" };

    /// <summary>Returns <paramref name="text"/> itself when there is nothing to blank (no allocation).</summary>
    public static string Redact(string text)
    {
        var start = text.AsSpan().IndexOfAny('?', '#');
        if (start < 0)
        {
            return text;
        }

        StringBuilder? result = null;
        var copied = 0;
        var i = start;
        while (i < text.Length)
        {
            if (text[i] is '?' or '#')
            {
                var end = EndOfUrlPart(text, i + 1);
                var segment = text.AsSpan(i + 1, end - i - 1);
                if (HasValues(segment))
                {
                    result ??= new StringBuilder(text.Length);
                    result.Append(text, copied, i + 1 - copied);
                    AppendRedacted(result, segment);
                    copied = end;
                }

                i = end;
            }
            else
            {
                i++;
            }
        }

        if (result is null)
        {
            return text;
        }

        result.Append(text, copied, text.Length - copied);
        return result.ToString();
    }

    /// <summary>Blanks a bare query string such as <c>code=abc&amp;state=xyz</c> (OpenTelemetry's <c>url.query</c>).</summary>
    public static string RedactQuery(string query)
    {
        var trimmed = query.StartsWith('?') ? query[1..] : query;
        if (!HasValues(trimmed))
        {
            return query;
        }

        var result = new StringBuilder(query.Length);
        if (query.StartsWith('?'))
        {
            result.Append('?');
        }

        AppendRedacted(result, trimmed);
        return result.ToString();
    }

    /// <summary>Blanks query values in a span attribute (by its key) or any other string attribute.</summary>
    public static string RedactAttribute(string key, string value) =>
        BareQueryAttributes.Contains(key) ? RedactQuery(value) : Redact(value);

    private static int EndOfUrlPart(string text, int from)
    {
        for (var i = from; i < text.Length; i++)
        {
            if (char.IsWhiteSpace(text[i]) || text[i] is '"' or '\'' or '<' or '>' or '`')
            {
                return i;
            }
        }

        return text.Length;
    }

    private static bool HasValues(ReadOnlySpan<char> segment)
    {
        var equals = segment.IndexOf('=');
        return equals >= 0 && equals < segment.Length - 1 && segment[(equals + 1)..].IndexOfAnyExcept('&', '#', ';') >= 0;
    }

    private static void AppendRedacted(StringBuilder result, ReadOnlySpan<char> segment)
    {
        var first = true;
        foreach (var range in segment.SplitAny('&', '#', ';'))
        {
            if (!first)
            {
                // Keep the separator that was there.
                result.Append(segment[range.Start.GetOffset(segment.Length) - 1]);
            }

            first = false;
            var part = segment[range];
            var equals = part.IndexOf('=');
            if (equals < 0 || equals == part.Length - 1)
            {
                result.Append(part);
            }
            else
            {
                result.Append(part[..(equals + 1)]).Append(Placeholder);
            }
        }
    }
}

/// <summary>
/// Blanks URL query values in every span attribute and span name before any exporter sees the span. Instrumentation
/// libraries redact <c>url.query</c> and <c>url.full</c> by default, but that can be switched off by environment
/// variables (OTEL_DOTNET_EXPERIMENTAL_ASPNETCORE_DISABLE_URL_QUERY_REDACTION and friends) and not every library does:
/// this processor is the guarantee. Registered first, so it runs before the exporters' processors.
/// </summary>
internal sealed class RedactingActivityProcessor : BaseProcessor<Activity>
{
    public override void OnEnd(Activity data)
    {
        List<KeyValuePair<string, string>>? changes = null;
        foreach (ref readonly var tag in data.EnumerateTagObjects())
        {
            if (tag.Value is string value)
            {
                var redacted = UrlQueryRedactor.RedactAttribute(tag.Key, value);
                if (!ReferenceEquals(redacted, value))
                {
                    (changes ??= []).Add(new(tag.Key, redacted));
                }
            }
        }

        if (changes is not null)
        {
            foreach (var (key, value) in changes)
            {
                data.SetTag(key, value);
            }
        }

        var name = UrlQueryRedactor.Redact(data.DisplayName);
        if (!ReferenceEquals(name, data.DisplayName))
        {
            data.DisplayName = name;
        }

        if (data.StatusDescription is { } description)
        {
            var redactedDescription = UrlQueryRedactor.Redact(description);
            if (!ReferenceEquals(redactedDescription, description))
            {
                data.SetStatus(data.Status, redactedDescription);
            }
        }
    }
}
