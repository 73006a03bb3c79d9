using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Bff.Sessions;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Bff.Authentication;

/// <summary>
/// The sign-in options an SPA may pass to <c>/bff/login</c> (<c>prompt</c>, <c>login_hint</c>, <c>acr_values</c>,
/// <c>max_age</c>, <c>ui_locales</c>), checked against the provider's discovery document. Only these names ever reach
/// the authorization request: everything else in the login URL is dropped, so a link cannot smuggle
/// <c>redirect_uri</c>, <c>scope</c> or <c>response_mode</c> to the provider.
/// </summary>
internal sealed class SignInParameters
{
    /// <summary>The values of OpenID Connect Core's <c>prompt</c> and OpenID Connect Prompt Create's <c>create</c>.</summary>
    public static readonly IReadOnlySet<string> StandardPrompts = new HashSet<string>(StringComparer.Ordinal)
    {
        "none", "login", "consent", "select_account", "create",
    };

    /// <summary>In <see cref="AuthenticationProperties.Items"/> (the protected state) when the sign-in asked for <c>prompt=none</c>.</summary>
    public const string SilentItem = "bff.silent";

    /// <summary>The query parameter a silent sign-in without a provider session adds to the return URL, and its value.</summary>
    public const string SilentResultParameter = "bff_login";
    public const string SilentResultNone = "none";

    private const string ParametersKey = "bff.sign_in_parameters";

    private const string OptionsItem = "bff.sign_in_options";

    /// <summary>In the protected state: the <c>acr_values</c> and <c>max_age</c> asked for, checked at the callback.</summary>
    private const string AcrValuesItem = "bff.acr_values";
    private const string MaxAgeItem = "bff.max_age";

    private const int MaxHintLength = 256;
    private const int MaxLocalesLength = 128;

    private static readonly string[] Names =
    [
        OpenIdConnectParameterNames.Prompt,
        OpenIdConnectParameterNames.LoginHint,
        OpenIdConnectParameterNames.AcrValues,
        OpenIdConnectParameterNames.MaxAge,
        OpenIdConnectParameterNames.UiLocales,
    ];

    private readonly List<KeyValuePair<string, string>> _values = [];

    private SignInParameters()
    {
    }

    public bool IsSilent { get; private set; }

    /// <summary>
    /// Reads the allowed parameters from <paramref name="query"/>. False, with the offending parameter's name, when one
    /// is repeated, malformed, or names a value the provider says it does not support; the value itself is never echoed
    /// (<c>login_hint</c> is whatever the user typed).
    /// </summary>
    public static bool TryRead(
        IQueryCollection query,
        OpenIdConnectConfiguration provider,
        [NotNullWhen(true)] out SignInParameters? parameters,
        [NotNullWhen(false)] out string? refused)
    {
        parameters = null;
        var result = new SignInParameters();
        foreach (var name in Names)
        {
            var values = query[name];
            if (values.Count == 0 || (values.Count == 1 && string.IsNullOrEmpty(values[0])))
            {
                continue;
            }

            if (values.Count > 1 || !IsValid(name, values[0]!, provider))
            {
                refused = name;
                return false;
            }

            result._values.Add(new(name, values[0]!));
            if (name == OpenIdConnectParameterNames.Prompt && values[0] == "none")
            {
                result.IsSilent = true;
            }
        }

        refused = null;
        parameters = result;
        return true;
    }

    /// <summary>Carries the parameters to the challenge (request-scoped) and marks a silent sign-in in the state.</summary>
    public void AddTo(AuthenticationProperties properties)
    {
        if (_values.Count > 0)
        {
            properties.Parameters[ParametersKey] = _values;

            // Also in the state: a callback that arrives stale restarts the sign-in, and must restart the same one.
            properties.Items[OptionsItem] = string.Concat(_values.Select(p => "&" + p.Key + "=" + Uri.EscapeDataString(p.Value)));
        }

        if (IsSilent)
        {
            properties.Items[SilentItem] = "1";
        }

        foreach (var (name, value) in _values)
        {
            if (name == OpenIdConnectParameterNames.AcrValues)
            {
                properties.Items[AcrValuesItem] = value;
            }
            else if (name == OpenIdConnectParameterNames.MaxAge)
            {
                properties.Items[MaxAgeItem] = value;
            }
        }
    }

    /// <summary>
    /// What the sign-in asked of the user's authentication (<c>acr_values</c>, <c>max_age</c>), which its ID token must
    /// show it got (OpenID Connect Core 3.1.2.1 and 5.5.1.1 leave checking it to the client); null when it asked neither.
    /// </summary>
    public static StepUpRequirement? RequestedStrength(AuthenticationProperties? properties)
    {
        if (properties is null)
        {
            return null;
        }

        IReadOnlyList<string> acrValues = [];
        if (properties.Items.TryGetValue(AcrValuesItem, out var acr) && !StepUpRequirement.TryParseAcrValues(acr, out acrValues))
        {
            acrValues = [];
        }

        int? maxAge = properties.Items.TryGetValue(MaxAgeItem, out var age) && StepUpRequirement.TryParseMaxAge(age, out var seconds) ? seconds : null;
        return acrValues.Count > 0 || maxAge is not null ? new StepUpRequirement(acrValues, maxAge) : null;
    }

    /// <summary>Writes the parameters into the authorization request, from which the handler also builds a pushed request.</summary>
    public static void Apply(AuthenticationProperties properties, OpenIdConnectMessage message)
    {
        if (properties.Parameters.TryGetValue(ParametersKey, out var stored) && stored is List<KeyValuePair<string, string>> values)
        {
            foreach (var (name, value) in values)
            {
                message.SetParameter(name, value);
            }
        }
    }

    /// <summary>The options of the sign-in <paramref name="properties"/> belong to, as <c>&amp;name=value</c> pairs to append to a restart URL.</summary>
    public static string RestartOptions(AuthenticationProperties? properties) =>
        properties?.Items.TryGetValue(OptionsItem, out var options) == true ? options ?? string.Empty : string.Empty;

    public static bool IsSilentSignIn(AuthenticationProperties? properties) =>
        properties?.Items.ContainsKey(SilentItem) == true;

    /// <summary>The provider's answers to <c>prompt=none</c> that mean "the user would have to interact" (OpenID Connect Core 3.1.2.6).</summary>
    public static bool IsNoProviderSession(string providerError) =>
        providerError is "login_required" or "interaction_required" or "consent_required" or "account_selection_required";

    /// <summary>
    /// Where a silent sign-in that found no provider session lands: its (already validated) return URL with
    /// <c>bff_login=none</c> added to the query, in front of any fragment.
    /// </summary>
    public static string SilentResultUrl(string? returnUrl)
    {
        var target = ReturnUrl.TryNormalize(returnUrl, out var normalized) ? normalized : ReturnUrl.Default;
        var withResult = QueryHelpers.AddQueryString(target, SilentResultParameter, SilentResultNone);
        return ReturnUrl.TryNormalize(withResult, out var result) ? result : ReturnUrl.Default + "?" + SilentResultParameter + "=" + SilentResultNone;
    }

    private static bool IsValid(string name, string value, OpenIdConnectConfiguration provider) => name switch
    {
        OpenIdConnectParameterNames.Prompt => IsValidPrompt(value, provider.PromptValuesSupported),
        OpenIdConnectParameterNames.LoginHint => IsValidHint(value),
        OpenIdConnectParameterNames.AcrValues => IsValidAcr(value, provider.AcrValuesSupported),
        OpenIdConnectParameterNames.MaxAge => IsValidMaxAge(value),
        OpenIdConnectParameterNames.UiLocales => IsValidLocales(value) && AnyLocaleSupported(value, provider.UILocalesSupported),
        _ => false,
    };

    /// <summary>
    /// Space-separated, each value standard and, when the document lists them, supported; <c>none</c> stands alone
    /// (OpenID Connect Core 3.1.2.1: combined with anything it is an error at the provider).
    /// </summary>
    private static bool IsValidPrompt(string value, ICollection<string> supported)
    {
        var prompts = value.Split(' ');
        if (prompts.Length > StandardPrompts.Count || prompts.Distinct(StringComparer.Ordinal).Count() != prompts.Length)
        {
            return false;
        }

        foreach (var prompt in prompts)
        {
            if (!StandardPrompts.Contains(prompt) || (supported.Count > 0 && !supported.Contains(prompt)))
            {
                return false;
            }
        }

        return prompts.Length == 1 || !prompts.Contains("none");
    }

    /// <summary>
    /// Free text the user typed (an email address, a phone number, a user name): any character but controls, line and
    /// paragraph separators and invisible formatting (bidirectional overrides), bounded in length. It is
    /// percent-encoded into the URL, so nothing in it can end the parameter or a header.
    /// </summary>
    private static bool IsValidHint(string value)
    {
        if (value.Length > MaxHintLength || value.Trim().Length != value.Length)
        {
            return false;
        }

        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsSurrogate(c))
            {
                if (!char.IsSurrogatePair(value, i))
                {
                    return false;
                }

                i++;
                continue;
            }

            var category = char.GetUnicodeCategory(c);
            if (category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator
                or UnicodeCategory.ParagraphSeparator or UnicodeCategory.OtherNotAssigned or UnicodeCategory.PrivateUse)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Space-separated authentication context references (often URIs), each as <see cref="StepUpRequirement.IsAcrValue"/>
    /// allows and named once, and supported when the document lists them.
    /// </summary>
    private static bool IsValidAcr(string value, ICollection<string> supported) =>
        StepUpRequirement.TryParseAcrValues(value, out var acrValues)
        && (supported.Count == 0 || acrValues.All(supported.Contains));

    /// <summary>Seconds, as a plain non-negative integer (no sign, no spaces, no exponent).</summary>
    private static bool IsValidMaxAge(string value) => StepUpRequirement.TryParseMaxAge(value, out _);

    /// <summary>
    /// <c>ui_locales</c> is a preference list: the provider uses the first it supports. Refused only when the discovery
    /// document lists <c>ui_locales_supported</c> and none of the requested tags is there, compared as BCP 47 tags are
    /// (case-insensitively, and a more specific tag such as <c>fr-CA</c> counts for a listed <c>fr</c>, RFC 4647 lookup).
    /// </summary>
    private static bool AnyLocaleSupported(string value, ICollection<string> supported)
    {
        if (supported.Count == 0)
        {
            return true;
        }

        foreach (var tag in value.Split(' '))
        {
            foreach (var listed in supported)
            {
                if (string.Equals(tag, listed, StringComparison.OrdinalIgnoreCase)
                    || (tag.Length > listed.Length && tag[listed.Length] == '-' && tag.StartsWith(listed, StringComparison.OrdinalIgnoreCase)))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>Space-separated BCP 47 language tags: letters, digits and hyphens.</summary>
    private static bool IsValidLocales(string value)
    {
        if (value.Length > MaxLocalesLength)
        {
            return false;
        }

        foreach (var tag in value.Split(' '))
        {
            if (tag.Length is 0 or > 35 || tag[0] == '-' || tag[^1] == '-' || !tag.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            {
                return false;
            }
        }

        return true;
    }
}
