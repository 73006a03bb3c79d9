using System.Text;
using Bff.Sessions;
using Microsoft.Extensions.Primitives;

namespace Bff.Proxy;

/// <summary>
/// Reads an API's RFC 9470 step-up challenge from its <c>WWW-Authenticate</c> headers: a <c>Bearer</c> (or
/// <c>DPoP</c>) challenge with <c>error="insufficient_user_authentication"</c> and <c>acr_values</c> and/or
/// <c>max_age</c>. Parsed as RFC 9110 section 11.6.1 defines challenges: several per header and several headers,
/// scheme and parameter names case-insensitive, values as tokens or quoted strings with backslash escapes, token68.
/// Nothing the API wrote reaches the SPA unless it passed <see cref="StepUpRequirement"/>'s checks.
/// </summary>
internal static class StepUpChallenge
{
    public const string InsufficientUserAuthentication = "insufficient_user_authentication";

    /// <summary>Longer headers are not read: no API needs that much to ask for a step-up.</summary>
    private const int MaxHeaderLength = 8192;

    internal enum Outcome
    {
        /// <summary>No step-up challenge: the 401 passes through as the API sent it.</summary>
        None,

        /// <summary>A step-up challenge the gateway can translate.</summary>
        StepUp,

        /// <summary>A step-up challenge that cannot be used (unparseable, unusable values, nothing asked for).</summary>
        Unusable,
    }

    public static Outcome Read(StringValues headers, out StepUpRequirement? requirement, out string? problem)
    {
        requirement = null;
        problem = null;
        foreach (var header in headers)
        {
            if (string.IsNullOrEmpty(header))
            {
                continue;
            }

            if (header.Length > MaxHeaderLength)
            {
                problem = "header too long";
                return header.Contains(InsufficientUserAuthentication, StringComparison.OrdinalIgnoreCase) ? Outcome.Unusable : Outcome.None;
            }

            if (!TryParse(header, out var challenges))
            {
                // Unparseable: only worth a warning when it looks like it meant to ask for a step-up.
                problem = "malformed WWW-Authenticate header";
                return header.Contains(InsufficientUserAuthentication, StringComparison.OrdinalIgnoreCase) ? Outcome.Unusable : Outcome.None;
            }

            foreach (var challenge in challenges)
            {
                if (!IsBearerScheme(challenge.Scheme)
                    || !challenge.Parameters.TryGetValue("error", out var error)
                    || !string.Equals(error, InsufficientUserAuthentication, StringComparison.Ordinal))
                {
                    continue;
                }

                return Translate(challenge, out requirement, out problem);
            }
        }

        return Outcome.None;
    }

    private static Outcome Translate(Challenge challenge, out StepUpRequirement? requirement, out string? problem)
    {
        requirement = null;
        problem = null;
        if (challenge.Duplicated)
        {
            problem = "a parameter appears twice";
            return Outcome.Unusable;
        }

        IReadOnlyList<string> acrValues = [];
        if (challenge.Parameters.TryGetValue("acr_values", out var acr) && !StepUpRequirement.TryParseAcrValues(acr, out acrValues))
        {
            problem = "acr_values is not a space-separated list of plain acr values";
            return Outcome.Unusable;
        }

        int? maxAge = null;
        if (challenge.Parameters.TryGetValue("max_age", out var age))
        {
            if (!StepUpRequirement.TryParseMaxAge(age, out var seconds))
            {
                problem = "max_age is not a whole number of seconds";
                return Outcome.Unusable;
            }

            maxAge = seconds;
        }

        if (acrValues.Count == 0 && maxAge is null)
        {
            problem = "neither acr_values nor max_age";
            return Outcome.Unusable;
        }

        requirement = new StepUpRequirement(acrValues, maxAge);
        return Outcome.StepUp;
    }

    private static bool IsBearerScheme(string scheme) =>
        scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase) || scheme.Equals("DPoP", StringComparison.OrdinalIgnoreCase);

    internal sealed class Challenge(string scheme)
    {
        public string Scheme { get; } = scheme;

        public Dictionary<string, string> Parameters { get; } = new(StringComparer.OrdinalIgnoreCase);

        /// <summary>RFC 9110: a parameter name occurs at most once per challenge; one that repeats makes it ambiguous.</summary>
        public bool Duplicated { get; set; }
    }

    /// <summary>
    /// <c>challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ]</c>, comma-separated, empty list elements allowed.
    /// False when the header does not follow the grammar.
    /// </summary>
    internal static bool TryParse(string header, out List<Challenge> challenges)
    {
        challenges = [];
        Challenge? current = null;
        var i = 0;
        while (true)
        {
            SkipWhitespace(header, ref i);
            if (i == header.Length)
            {
                return true;
            }

            if (header[i] == ',')
            {
                i++;
                continue;
            }

            var start = i;
            var token = ReadToken(header, ref i);
            if (token.Length == 0)
            {
                return false;
            }

            var afterToken = i;
            SkipWhitespace(header, ref i);
            if (i < header.Length && header[i] == '=' && current is not null && !IsToken68Tail(header, i))
            {
                // An auth-param of the current challenge: name BWS "=" BWS ( token / quoted-string ).
                i++;
                SkipWhitespace(header, ref i);
                if (!ReadValue(header, ref i, out var value))
                {
                    return false;
                }

                if (!current.Parameters.TryAdd(token, value))
                {
                    current.Duplicated = true;
                }

                if (!AtElementEnd(header, ref i))
                {
                    return false;
                }

                continue;
            }

            // A new challenge: the token is its scheme, which a space and then a token68 or parameters may follow.
            if (afterToken < header.Length && header[afterToken] == '=')
            {
                // "scheme=" cannot start a challenge.
                return false;
            }

            current = new Challenge(header[start..afterToken]);
            challenges.Add(current);
            if (i == header.Length || header[i] == ',' || i == afterToken)
            {
                if (i < header.Length && header[i] != ',')
                {
                    return false;
                }

                continue;
            }

            // token68, when what follows the space is not "name=": e.g. "Basic dXNlcjpwYXNz==".
            var token68Start = i;
            var next = ReadToken68(header, ref i);
            SkipWhitespace(header, ref i);
            if (next.Length > 0 && (i == header.Length || header[i] == ',') && !IsParameterStart(header, token68Start))
            {
                if (i < header.Length)
                {
                    i++;
                }

                continue;
            }

            // Otherwise parameters follow: rewind and let the loop read them as name=value.
            i = token68Start;
        }
    }

    /// <summary>True when the text at <paramref name="index"/> is <c>token BWS "=" BWS</c> followed by a value (a parameter).</summary>
    private static bool IsParameterStart(string header, int index)
    {
        var i = index;
        if (ReadToken(header, ref i).Length == 0)
        {
            return false;
        }

        SkipWhitespace(header, ref i);
        if (i >= header.Length || header[i] != '=')
        {
            return false;
        }

        return !IsToken68Tail(header, i);
    }

    /// <summary>'=' that is only the padding at the end of a token68 ("abc==" followed by the end or a comma).</summary>
    private static bool IsToken68Tail(string header, int equals)
    {
        var i = equals;
        while (i < header.Length && header[i] == '=')
        {
            i++;
        }

        SkipWhitespace(header, ref i);
        return i == header.Length || header[i] == ',';
    }

    private static bool AtElementEnd(string header, ref int i)
    {
        SkipWhitespace(header, ref i);
        if (i == header.Length)
        {
            return true;
        }

        if (header[i] != ',')
        {
            return false;
        }

        i++;
        return true;
    }

    private static bool ReadValue(string header, ref int i, out string value)
    {
        value = string.Empty;
        if (i < header.Length && header[i] == '"')
        {
            var builder = new StringBuilder();
            i++;
            while (i < header.Length)
            {
                var c = header[i++];
                if (c == '"')
                {
                    value = builder.ToString();
                    return true;
                }

                if (c == '\\')
                {
                    if (i == header.Length)
                    {
                        return false;
                    }

                    c = header[i++];
                }

                // qdtext and quoted-pair: HTAB, SP, visible ASCII and obs-text; never a control character.
                if (c != '\t' && (c < ' ' || c == '\x7f'))
                {
                    return false;
                }

                builder.Append(c);
            }

            return false;
        }

        value = ReadToken(header, ref i);
        return value.Length > 0;
    }

    private static string ReadToken(string header, ref int i)
    {
        var start = i;
        while (i < header.Length && IsTokenChar(header[i]))
        {
            i++;
        }

        return header[start..i];
    }

    private static string ReadToken68(string header, ref int i)
    {
        var start = i;
        while (i < header.Length && (char.IsAsciiLetterOrDigit(header[i]) || header[i] is '-' or '.' or '_' or '~' or '+' or '/'))
        {
            i++;
        }

        while (i < header.Length && header[i] == '=')
        {
            i++;
        }

        return header[start..i];
    }

    private static void SkipWhitespace(string header, ref int i)
    {
        while (i < header.Length && header[i] is ' ' or '\t')
        {
            i++;
        }
    }

    /// <summary>RFC 9110 tchar.</summary>
    private static bool IsTokenChar(char c) =>
        char.IsAsciiLetterOrDigit(c) || c is '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~';
}
