using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Bff.Configuration;

/// <summary>
/// Refuses a configuration that cannot work, at start-up, with a message that names the key to fix.
/// </summary>
internal sealed class BffOptionsValidator(IHostEnvironment environment) : IValidateOptions<BffOptions>
{
    public ValidateOptionsResult Validate(string? name, BffOptions options)
    {
        var failures = new List<string>();

        if (string.IsNullOrWhiteSpace(options.Authority))
        {
            failures.Add("Bff:Authority is required: set it to the OpenID provider's issuer URL (for example Bff__Authority=https://login.example.com).");
        }
        else if (!Uri.TryCreate(options.Authority, UriKind.Absolute, out var authority)
            || (authority.Scheme != Uri.UriSchemeHttps && authority.Scheme != Uri.UriSchemeHttp))
        {
            failures.Add($"Bff:Authority must be an absolute http(s) URL; '{options.Authority}' is not.");
        }
        else if (authority.Scheme == Uri.UriSchemeHttp && RequiresHttps(options))
        {
            failures.Add("Bff:Authority uses http, which is refused outside Development: use https, or set Bff:RequireHttpsMetadata=false explicitly if you really mean it.");
        }

        if (string.IsNullOrWhiteSpace(options.ClientId))
        {
            failures.Add("Bff:ClientId is required: set it to the client id registered at the provider.");
        }

        ValidateClientAuthentication(options, failures);

        if (!options.ScopeList.Contains("openid", StringComparer.Ordinal))
        {
            failures.Add("Bff:Scopes must contain 'openid'.");
        }

        ValidatePath(options.CallbackPath, "Bff:CallbackPath", failures);
        ValidatePath(options.SignedOutCallbackPath, "Bff:SignedOutCallbackPath", failures);

        var session = options.Session;
        if (session.IdleTimeout <= TimeSpan.Zero)
        {
            failures.Add("Bff:Session:IdleTimeout must be positive (for example 00:30:00).");
        }

        if (session.AbsoluteTimeout <= TimeSpan.Zero)
        {
            failures.Add("Bff:Session:AbsoluteTimeout must be positive (for example 08:00:00).");
        }
        else if (session.IdleTimeout > session.AbsoluteTimeout)
        {
            failures.Add("Bff:Session:IdleTimeout must not be longer than Bff:Session:AbsoluteTimeout.");
        }

        if (session.WarnBefore < TimeSpan.FromSeconds(1))
        {
            failures.Add("Bff:Session:WarnBefore must be at least 00:00:01 (for example 00:02:00, the default).");
        }
        else if (session.IdleTimeout > TimeSpan.Zero && session.WarnBefore > session.IdleTimeout * 0.9)
        {
            // A session slides at most once every tenth of its idle timeout (a minute at most): a warning sent sooner
            // after the last slide could not be answered by "stay signed in".
            failures.Add($"Bff:Session:WarnBefore ({session.WarnBefore}) must be at most 90% of Bff:Session:IdleTimeout ({session.IdleTimeout}): a page warned sooner after its last activity could not extend the session.");
        }

        if (!Enum.IsDefined(session.Store))
        {
            failures.Add("Bff:Session:Store must be InMemory or Redis.");
        }
        else if (session.Store == SessionStoreKind.Redis && string.IsNullOrWhiteSpace(options.Redis.Configuration))
        {
            failures.Add("Bff:Session:Store is Redis, but Bff:Redis:Configuration is empty: set it to the StackExchange.Redis connection string (for example Bff__Redis__Configuration=redis:6379).");
        }

        ValidateRedis(options, failures);

        var cookie = options.Cookie;
        if (cookie.SameSite is SameSiteMode.None or SameSiteMode.Unspecified)
        {
            failures.Add("Bff:Cookie:SameSite must be Strict or Lax: None would send the session cookie on cross-site requests.");
        }

        if (!CookieNameRules.IsValidHostCookieName(cookie.Name, out var cookieProblem))
        {
            failures.Add($"Bff:Cookie:Name '{cookie.Name}' is not usable: {cookieProblem}");
        }

        if (options.Tokens.RefreshBeforeExpiry < TimeSpan.Zero)
        {
            failures.Add("Bff:Tokens:RefreshBeforeExpiry must not be negative.");
        }

        ValidateForwardedHeaders(options.ForwardedHeaders, failures);
        ValidateSignInRateLimit(options.RateLimits.SignIn, failures);
        ValidateLogout(options.Logout, failures);
        ValidatePublicOrigin(options, failures);
        ValidateForwardedHeadersBreadth(options.ForwardedHeaders, failures);
        ValidateSessionCaps(options.Session, failures);
        ValidateAdmin(options, failures);

        ValidateAuthorization(options.Authorization, failures);
        ValidateClaimMap(options.Claims, failures);
        ValidateDPoP(options.DPoP, failures);

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>
    /// The shape of <c>Bff:ClientAuthentication</c>: what each method needs, and nothing configured that the method
    /// would not use (a secret or key left behind is never silently ignored). Whether the keys and the certificate can
    /// be read and used is checked by the provider's own validator, which loads them.
    /// </summary>
    private static void ValidateClientAuthentication(BffOptions options, List<string> failures)
    {
        const string Key = "Bff:ClientAuthentication";
        var settings = options.ClientAuthentication;
        if (!Enum.IsDefined(settings.Method))
        {
            failures.Add($"{Key}:Method must be ClientSecretBasic, ClientSecretPost, PrivateKeyJwt, TlsClientAuth or SelfSignedTlsClientAuth.");
            return;
        }

        if (!Enum.IsDefined(settings.Audience))
        {
            failures.Add($"{Key}:Audience must be TokenEndpoint or Issuer.");
        }

        if (!Enum.IsDefined(settings.AssertionHeaderType))
        {
            failures.Add($"{Key}:AssertionHeaderType must be Jwt or ClientAuthenticationJwt.");
        }

        var method = settings.Method;
        if (settings.UsesSecret && string.IsNullOrWhiteSpace(options.ClientSecret))
        {
            failures.Add($"Bff:ClientSecret is required: supply it through the Bff__ClientSecret environment variable or a mounted secret (or set {Key}:Method to PrivateKeyJwt, TlsClientAuth or SelfSignedTlsClientAuth).");
        }
        else if (!settings.UsesSecret && !string.IsNullOrEmpty(options.ClientSecret))
        {
            failures.Add($"Bff:ClientSecret is set, but {Key}:Method is {method}, which does not use it: remove it, so that no unused secret is kept in the gateway's environment.");
        }

        var keys = settings.Keys;
        for (var i = 0; i < keys.Count; i++)
        {
            var key = keys[i];
            var hasPath = !string.IsNullOrWhiteSpace(key?.Path);
            var hasPem = !string.IsNullOrWhiteSpace(key?.Pem);
            if (hasPath == hasPem)
            {
                failures.Add($"{Key}:Keys:{i} needs exactly one of Path (a mounted PEM or PKCS#12 file) and Pem (the PEM text).");
            }
        }

        if (method == ClientAuthenticationMethod.PrivateKeyJwt && keys.Count == 0)
        {
            failures.Add($"{Key}:Keys is required with {Key}:Method=PrivateKeyJwt: give at least one signing key (for example {Key}:Keys:0:Path=/var/run/secrets/bff/client-key.pem).");
        }
        else if (method != ClientAuthenticationMethod.PrivateKeyJwt && keys.Count > 0 && !settings.PublishJwks)
        {
            failures.Add($"{Key}:Keys is set, but {Key}:Method is {method}, which signs nothing: set {Key}:Method=PrivateKeyJwt, or {Key}:PublishJwks=true to publish the keys ahead of switching to it.");
        }

        if (settings.PublishJwks && keys.Count == 0)
        {
            failures.Add($"{Key}:PublishJwks is true, but {Key}:Keys is empty: there is nothing to publish.");
        }

        var certificate = settings.Certificate;
        var hasCertificate = !string.IsNullOrWhiteSpace(certificate.Path) || !string.IsNullOrWhiteSpace(certificate.KeyPath);
        if (settings.UsesCertificate && string.IsNullOrWhiteSpace(certificate.Path))
        {
            failures.Add($"{Key}:Certificate:Path is required with {Key}:Method={method}: a mounted PKCS#12 file, or a PEM certificate with {Key}:Certificate:KeyPath.");
        }
        else if (!settings.UsesCertificate && hasCertificate)
        {
            failures.Add($"{Key}:Certificate is set, but {Key}:Method is {method}, which presents no TLS client certificate: set {Key}:Method=TlsClientAuth or SelfSignedTlsClientAuth, or remove it.");
        }
    }

    private static void ValidateRedis(BffOptions options, List<string> failures)
    {
        var redis = options.Redis;
        // An empty Bff:Redis:Configuration with Bff:Session:Store=Redis is reported above.
        if (options.Session.Store == SessionStoreKind.Redis && !string.IsNullOrWhiteSpace(redis.Configuration)
            && !RedisConfigurationRules.TryParse(redis.Configuration, out var problem))
        {
            failures.Add($"Bff:Redis:Configuration is not a usable StackExchange.Redis connection string: {problem}");
        }

        if (string.IsNullOrWhiteSpace(redis.KeyPrefix))
        {
            failures.Add("Bff:Redis:KeyPrefix must not be empty (default 'bff:').");
        }
        else if (!RedisConfigurationRules.HasWholeHashTags(redis.KeyPrefix))
        {
            failures.Add("Bff:Redis:KeyPrefix has a '{' that no '}' closes after at least one character: Redis Cluster would read a hash tag from it "
                + "that spreads one session's keys over several slots. Remove the brace, or write a whole tag such as '{bff}:' (every key then shares one slot).");
        }

        if (redis.ConnectTimeout <= TimeSpan.Zero || redis.ConnectTimeout > TimeSpan.FromMinutes(1))
        {
            failures.Add("Bff:Redis:ConnectTimeout must be positive and at most a minute (for example 00:00:02).");
        }

        if (redis.OperationTimeout <= TimeSpan.Zero || redis.OperationTimeout > TimeSpan.FromSeconds(30))
        {
            failures.Add("Bff:Redis:OperationTimeout must be positive and at most 30 seconds (for example 00:00:01): every request waits up to this long when Redis is slow.");
        }
    }

    private static void ValidateForwardedHeaders(ForwardedHeadersSettings settings, List<string> failures)
    {
        foreach (var proxy in ForwardedHeadersSettings.Entries(settings.KnownProxies))
        {
            if (!ForwardedHeadersSettings.TryParseAddress(proxy, out _))
            {
                failures.Add($"Bff:ForwardedHeaders:KnownProxies contains '{proxy}', which is not an IP address (for example 10.0.0.7); put networks in Bff:ForwardedHeaders:KnownNetworks.");
            }
        }

        foreach (var network in ForwardedHeadersSettings.Entries(settings.KnownNetworks))
        {
            if (!ForwardedHeadersSettings.TryParseNetwork(network, out _))
            {
                failures.Add($"Bff:ForwardedHeaders:KnownNetworks contains '{network}', which is not a network in CIDR notation (for example 10.0.0.0/8, with no address bits set beyond the prefix).");
            }
        }
    }

    private void ValidatePublicOrigin(BffOptions options, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(options.PublicOrigin))
        {
            // In Development an unset origin keeps `dotnet run` and the Vite dev server working on any local address.
            if (!environment.IsDevelopment())
            {
                failures.Add($"{PublicOrigin.Key} is required outside Development: set it to the origin browsers use (for example Bff__PublicOrigin=https://app.example.com); requests for any other Host are refused, and redirect URIs are built from it.");
            }

            return;
        }

        if (!PublicOrigin.TryParse(options.PublicOrigin, out _, out var problem))
        {
            failures.Add($"{PublicOrigin.Key} '{options.PublicOrigin}' is not usable: {problem}. Write scheme, host and optional port, for example https://app.example.com.");
        }
    }

    /// <summary>
    /// A trusted network that covers every address lets anyone on the internet choose the scheme, host and client address
    /// the gateway believes. Dual-stack sockets report IPv4 peers as ::ffff:a.b.c.d, so an IPv6 network holding all of
    /// ::ffff:0:0/96 is as broad as 0.0.0.0/0.
    /// </summary>
    private static void ValidateForwardedHeadersBreadth(ForwardedHeadersSettings settings, List<string> failures)
    {
        foreach (var entry in ForwardedHeadersSettings.Entries(settings.KnownNetworks))
        {
            if (ForwardedHeadersSettings.TryParseNetwork(entry, out var network) && ForwardedHeadersSettings.CoversEveryAddress(network))
            {
                failures.Add($"Bff:ForwardedHeaders:KnownNetworks contains '{entry}', which trusts every address: any client could then set X-Forwarded-For/-Proto/-Host. List the ingress controller's own network (for example 10.244.0.0/16).");
            }
        }
    }

    private bool RequiresHttps(BffOptions options) =>
        options.RequireHttpsMetadata ?? !environment.IsDevelopment();

    private static void ValidatePath(string? path, string key, List<string> failures)
    {
        if (string.IsNullOrEmpty(path) || path[0] != '/' || path.StartsWith("//", StringComparison.Ordinal) || path.Contains('?', StringComparison.Ordinal))
        {
            failures.Add($"{key} must be a path starting with '/' ('{path}' is not).");
        }
    }

    private static void ValidateSignInRateLimit(SignInRateLimitSettings settings, List<string> failures)
    {
        if (!settings.Enabled)
        {
            return;
        }

        if (settings.PermitLimit < 1)
        {
            failures.Add("Bff:RateLimits:SignIn:PermitLimit must be at least 1 (default 20); set Bff:RateLimits:SignIn:Enabled=false to turn the limit off.");
        }

        // Whole seconds: Retry-After is written in seconds.
        if (settings.Window < TimeSpan.FromSeconds(1) || settings.Window > TimeSpan.FromHours(1) || settings.Window.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            failures.Add("Bff:RateLimits:SignIn:Window must be whole seconds between 00:00:01 and 01:00:00 (default 00:01:00).");
        }
    }

    private static void ValidateDPoP(DPoPSettings settings, List<string> failures)
    {
        if (!Enum.IsDefined(settings.Algorithm))
        {
            failures.Add("Bff:DPoP:Algorithm must be ES256, RS256 or PS256.");
            return;
        }

        if (settings.KeyLifetime < TimeSpan.FromHours(1))
        {
            failures.Add("Bff:DPoP:KeyLifetime must be at least 01:00:00 (default 30.00:00:00).");
        }

        if (!settings.Enabled)
        {
            return;
        }

        if (settings.KeyFile is not null)
        {
            CheckKeyFile(settings.KeyFile, "Bff:DPoP:KeyFile", settings.Algorithm, failures);
        }

        for (var i = 0; i < settings.PreviousKeyFiles.Count; i++)
        {
            CheckKeyFile(settings.PreviousKeyFiles[i], $"Bff:DPoP:PreviousKeyFiles:{i}", settings.Algorithm, failures);
        }

        if (settings.PreviousKeyFiles.Count > 0 && settings.KeyFile is null)
        {
            failures.Add("Bff:DPoP:PreviousKeyFiles needs Bff:DPoP:KeyFile: the current key must be a file too when earlier ones are.");
        }
    }

    private static void CheckKeyFile(string? path, string key, DPoPAlgorithm algorithm, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            failures.Add($"{key} must name a PEM file with the private key (or be left out to have the gateway generate one).");
            return;
        }

        using var loaded = DPoPSettings.TryLoadKey(path, algorithm, out var problem);
        if (loaded is null)
        {
            failures.Add($"{key} '{path}' {problem}.");
        }
    }

    private static void ValidateLogout(LogoutSettings settings, List<string> failures)
    {
        if (!Enum.IsDefined(settings.EndSessionHint))
        {
            failures.Add("Bff:Logout:EndSessionHint must be IdToken or ClientId.");
        }
    }

    /// <summary>Checked whether or not it is on, so that a mistake shows before the day someone switches it on.</summary>
    private static void ValidateAdmin(BffOptions options, List<string> failures)
    {
        var admin = options.Admin;
        if (admin.Port is { } port && port is < 1 or > 65535)
        {
            failures.Add($"Bff:Admin:Port must be a TCP port between 1 and 65535 (it is {port}).");
        }

        if (admin.Audience is { } audience && string.IsNullOrWhiteSpace(audience))
        {
            failures.Add("Bff:Admin:Audience must not be blank.");
        }
        else if (string.Equals(admin.Audience, options.ClientId, StringComparison.Ordinal) && admin.Audience is not null)
        {
            failures.Add("Bff:Admin:Audience must not be Bff:ClientId: every user's ID token is issued for the client id; register an audience of its own for the admin API.");
        }

        foreach (var (value, key) in new[] { (admin.Role, "Bff:Admin:Role"), (admin.Scope, "Bff:Admin:Scope") })
        {
            if (value is not null && (value.Length == 0 || value.Any(char.IsWhiteSpace) || value.Any(char.IsControl)))
            {
                failures.Add($"{key} must be one role or scope name, without spaces.");
            }
        }

        if (!admin.Enabled)
        {
            return;
        }

        if (admin.Port is null)
        {
            failures.Add("Bff:Admin:Enabled is true, but Bff:Admin:Port is not set: name the port the admin API answers on (for example 9090), one the public ingress does not route to.");
        }

        if (admin.Audience is null)
        {
            failures.Add("Bff:Admin:Enabled is true, but Bff:Admin:Audience is not set: name the audience the callers' access tokens are issued for.");
        }

        if (admin.Role is null && admin.Scope is null)
        {
            failures.Add("Bff:Admin:Enabled is true, but neither Bff:Admin:Role nor Bff:Admin:Scope is set: name the role or scope that admits a caller.");
        }
    }

    private static void ValidateSessionCaps(SessionSettings session, List<string> failures)
    {
        if (session.MaxPerSubject < 1)
        {
            failures.Add($"Bff:Session:MaxPerSubject must be at least 1 (it is {session.MaxPerSubject}); the default is {SessionSettings.DefaultMaxPerSubject}.");
        }

        if (session.MaxInMemorySessions < 1)
        {
            failures.Add($"Bff:Session:MaxInMemorySessions must be at least 1 (it is {session.MaxInMemorySessions}); the default is {SessionSettings.DefaultMaxInMemorySessions}.");
        }
    }

    /// <summary>
    /// A configured policy must say something (a policy with no requirement would admit every signed-in user under a
    /// name that suggests otherwise), every value must be usable, and YARP's reserved names are not policy names.
    /// </summary>
    private static void ValidateAuthorization(AuthorizationSettings settings, List<string> failures)
    {
        foreach (var (name, policy) in settings.Policies)
        {
            var key = "Bff:Authorization:Policies:" + name;
            if (name.Equals("Default", StringComparison.OrdinalIgnoreCase) || name.Equals("Anonymous", StringComparison.OrdinalIgnoreCase))
            {
                failures.Add($"{key}: '{name}' is a name YARP reserves for a route's AuthorizationPolicy (Default: any signed-in user; Anonymous: anyone); choose another name.");
            }

            if (policy is null || (policy.RequireClaims.Count == 0 && policy.RequireScopes.Count == 0 && policy.RequireRole.Count == 0))
            {
                failures.Add($"{key} has no requirement: give it RequireClaims:<type>, RequireScopes or RequireRole.");
                continue;
            }

            foreach (var (type, values) in policy.RequireClaims)
            {
                if (!AuthorizationPolicySettings.Entries(values).Any() || AuthorizationPolicySettings.Entries(values).Any(string.IsNullOrEmpty))
                {
                    failures.Add($"{key}:RequireClaims:{type} needs one or more non-empty values (for example [\"ops\", \"sre\"]).");
                }
            }

            if (AuthorizationPolicySettings.Entries(policy.RequireScopes).Any(s => s.Length == 0 || s.Any(char.IsWhiteSpace)))
            {
                failures.Add($"{key}:RequireScopes needs OAuth scopes, one per entry, without spaces (for example [\"orders:write\"]).");
            }

            if (AuthorizationPolicySettings.Entries(policy.RequireRole).Any(string.IsNullOrEmpty))
            {
                failures.Add($"{key}:RequireRole needs non-empty role names.");
            }
        }
    }

    private static void ValidateClaimMap(ClaimsSettings settings, List<string> failures)
    {
        if (settings.RefreshUserInfo && !settings.FromUserInfo)
        {
            failures.Add("Bff:Claims:RefreshUserInfo re-reads userinfo after a refresh, which only applies when sign-in reads it: set Bff:Claims:FromUserInfo to true, or remove Bff:Claims:RefreshUserInfo.");
        }

        foreach (var (type, paths) in settings.Map)
        {
            var entries = AuthorizationPolicySettings.Entries(paths).ToList();
            if (entries.Count == 0 || entries.Any(p => p.Length == 0 || p.StartsWith('.') || p.EndsWith('.')))
            {
                failures.Add($"Bff:Claims:Map:{type} needs one or more paths into the ID token, such as [\"realm_access.roles\"] or [\"https://example.com/roles\"].");
            }

            // Step-up decisions rest on these two: they always come from the ID token itself.
            if (type is "acr" or "auth_time")
            {
                failures.Add($"Bff:Claims:Map:{type} cannot be mapped: the session's '{type}' is always the ID token's own (step-up checks rely on it); map to another claim type.");
            }
        }
    }
}

internal static class CookieNameRules
{
    /// <summary>
    /// The session cookie must carry the <c>__Host-</c> prefix: it is then Secure, host-only and Path=/,
    /// so a sibling subdomain cannot plant or shadow it.
    /// </summary>
    public static bool IsValidHostCookieName(string? name, out string problem)
    {
        if (string.IsNullOrEmpty(name))
        {
            problem = "a name is required.";
            return false;
        }

        if (!name.StartsWith("__Host-", StringComparison.Ordinal) || name.Length == "__Host-".Length)
        {
            problem = "it must start with '__Host-' (and have more after it), so browsers bind it to this host, Secure and Path=/.";
            return false;
        }

        foreach (var c in name)
        {
            // RFC 6265 token characters only.
            if (c <= 0x20 || c >= 0x7F || "()<>@,;:\\\"/[]?={}".Contains(c, StringComparison.Ordinal))
            {
                problem = $"it contains '{c}', which is not allowed in a cookie name.";
                return false;
            }
        }

        problem = string.Empty;
        return true;
    }
}

internal static class RedisConfigurationRules
{
    /// <summary>
    /// Whether a key prefix leaves the hash tags of the keys after it to them (no brace), or is a whole tag itself
    /// (<c>{bff}:</c>): a <c>{</c> that nothing closes would make Redis Cluster hash part of a session's id.
    /// </summary>
    public static bool HasWholeHashTags(string prefix)
    {
        var open = prefix.IndexOf('{', StringComparison.Ordinal);
        return open < 0 || prefix.IndexOf('}', open + 1) > open + 1;
    }

    /// <summary>Parses the connection string the way the gateway will; the problem never echoes it (it may hold a password).</summary>
    public static bool TryParse(string configuration, out string problem)
    {
        try
        {
            var parsed = StackExchange.Redis.ConfigurationOptions.Parse(configuration);
            if (parsed.EndPoints.Count == 0)
            {
                problem = "it names no endpoint (host:port).";
                return false;
            }

            problem = string.Empty;
            return true;
        }
        catch (ArgumentException ex)
        {
            problem = ex.Message;
            return false;
        }
    }
}
