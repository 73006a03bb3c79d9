using Microsoft.AspNetCore.Http;

namespace Bff.Configuration;

/// <summary>
/// The gateway's settings, bound from the <c>Bff</c> configuration section and validated at start-up
/// by <see cref="BffOptionsValidator"/>.
/// </summary>
public sealed class BffOptions
{
    /// <summary>The configuration section the settings are bound from.</summary>
    public const string SectionName = "Bff";

    /// <summary>The OpenID provider's issuer URL (discovery is read from <c>{Authority}/.well-known/openid-configuration</c>).</summary>
    public string? Authority { get; set; }

    /// <summary>The gateway's client id at the provider (a confidential client).</summary>
    public string? ClientId { get; set; }

    /// <summary>
    /// The client secret, for the secret methods of <see cref="ClientAuthentication"/> only; keep it in a secret store or
    /// an environment variable, never in appsettings.json.
    /// </summary>
    public string? ClientSecret { get; set; }

    /// <summary>How the gateway authenticates itself to the provider (<c>Bff:ClientAuthentication</c>).</summary>
    public ClientAuthenticationSettings ClientAuthentication { get; set; } = new();

    /// <summary>Space-separated scopes requested at sign-in; may also be written as an array (<c>Bff__Scopes__0=openid</c>).</summary>
    [ArrayAccepted(" ")]
    public string Scopes { get; set; } = "openid profile offline_access";

    /// <summary>
    /// Null when not configured: an <c>http</c> authority is then accepted only in Development.
    /// Setting it to <c>false</c> explicitly is the opt-in for plain-http metadata elsewhere.
    /// </summary>
    public bool? RequireHttpsMetadata { get; set; }

    /// <summary>Where the provider sends the browser back after sign-in (the redirect URI's path).</summary>
    public string CallbackPath { get; set; } = "/signin-oidc";

    /// <summary>Where the provider sends the browser back after sign-out (the post-logout redirect URI's path).</summary>
    public string SignedOutCallbackPath { get; set; } = "/signout-callback-oidc";

    /// <summary>Session lifetime, store and caps (<c>Bff:Session</c>).</summary>
    public SessionSettings Session { get; set; } = new();

    /// <summary>The session cookie (<c>Bff:Cookie</c>).</summary>
    public CookieSettings Cookie { get; set; } = new();

    /// <summary>When access tokens are refreshed (<c>Bff:Tokens</c>).</summary>
    public TokenSettings Tokens { get; set; } = new();

    /// <summary>The Redis connection for shared sessions (<c>Bff:Redis</c>).</summary>
    public RedisSettings Redis { get; set; } = new();

    /// <summary>Which proxies are trusted with the client's address, scheme and host (<c>Bff:ForwardedHeaders</c>).</summary>
    public ForwardedHeadersSettings ForwardedHeaders { get; set; } = new();

    /// <summary>Limits on sign-in starts and callbacks (<c>Bff:RateLimits</c>).</summary>
    public RateLimitSettings RateLimits { get; set; } = new();

    /// <summary>How sign-out identifies the user to the provider (<c>Bff:Logout</c>).</summary>
    public LogoutSettings Logout { get; set; } = new();

    /// <summary>Authorization policies declared in configuration (<c>Bff:Authorization</c>).</summary>
    public AuthorizationSettings Authorization { get; set; } = new();

    /// <summary>What <c>/bff/user</c> shows page script (<c>Bff:UserEndpoint</c>).</summary>
    public UserEndpointSettings UserEndpoint { get; set; } = new();

    /// <summary>Claims copied from where providers nest them, and from userinfo (<c>Bff:Claims</c>).</summary>
    public ClaimsSettings Claims { get; set; } = new();

    /// <summary>The admin API on its own port (<c>Bff:Admin</c>); off by default.</summary>
    public AdminSettings Admin { get; set; } = new();

    /// <summary>DPoP-bound access tokens (RFC 9449), off by default (<c>Bff:DPoP</c>).</summary>
    public DPoPSettings DPoP { get; set; } = new();

    /// <summary>
    /// The origin browsers use (<c>https://app.example.com</c>): only requests for its host are served, and redirect
    /// URIs, cookie flags and forwarded headers are built from it. Required outside Development (see <see cref="PublicOrigin"/>).
    /// </summary>
    public string? PublicOrigin { get; set; }

    /// <summary><see cref="Scopes"/> as separate scopes.</summary>
    public IEnumerable<string> ScopeList => Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

/// <summary>Where sessions (and their tokens) are kept (<c>Bff:Session:Store</c>).</summary>
public enum SessionStoreKind
{
    /// <summary>In the gateway's memory: one replica only; sessions end when it restarts.</summary>
    InMemory,

    /// <summary>In Redis (<c>Bff:Redis</c>): shared by every replica, kept across restarts.</summary>
    Redis,
}

/// <summary>Session lifetime, store and caps (<c>Bff:Session</c>).</summary>
public sealed class SessionSettings
{
    /// <summary>The default of <see cref="MaxPerSubject"/>.</summary>
    public const int DefaultMaxPerSubject = 20;

    /// <summary>The default of <see cref="MaxInMemorySessions"/>.</summary>
    public const int DefaultMaxInMemorySessions = 50_000;

    /// <summary>A session unused for this long ends.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>A session ends this long after sign-in, however active it is.</summary>
    public TimeSpan AbsoluteTimeout { get; set; } = TimeSpan.FromHours(8);

    /// <summary>
    /// How long before a session ends (idle or absolute) its pages' event streams (<c>GET /bff/events</c>) send
    /// <c>expiring</c>, so the page can offer to stay signed in.
    /// </summary>
    public TimeSpan WarnBefore { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Where sessions are kept; chosen from configuration when the services are added.</summary>
    public SessionStoreKind Store { get; set; } = SessionStoreKind.InMemory;

    /// <summary>
    /// The most sessions one user (subject) may hold at once: a sign-in beyond it ends that user's oldest session, so
    /// one account scripted to sign in again and again cannot fill the store.
    /// </summary>
    public int MaxPerSubject { get; set; } = DefaultMaxPerSubject;

    /// <summary>
    /// The most sessions the in-memory store holds (each takes some 20 KB): past it, new sign-ins are refused with a
    /// 503 until sessions end. Not used with Redis, whose memory is bounded by Redis's own <c>maxmemory</c>.
    /// </summary>
    public int MaxInMemorySessions { get; set; } = DefaultMaxInMemorySessions;
}

/// <summary>The session cookie (<c>Bff:Cookie</c>).</summary>
public sealed class CookieSettings
{
    /// <summary>The default of <see cref="Name"/>.</summary>
    public const string DefaultName = "__Host-bff";

    /// <summary>The session cookie's name; a <c>__Host-</c> name makes the browser refuse it unless it is Secure, host-only and Path=/.</summary>
    public string Name { get; set; } = DefaultName;

    /// <summary>The names start-up suggests when the value is not one; None is refused by the validator, with its reason.</summary>
    [System.ComponentModel.DataAnnotations.AllowedValues(SameSiteMode.Strict, SameSiteMode.Lax)]
    public SameSiteMode SameSite { get; set; } = SameSiteMode.Strict;
}

/// <summary>When access tokens are refreshed (<c>Bff:Tokens</c>).</summary>
public sealed class TokenSettings
{
    /// <summary>An access token that expires within this window is refreshed before it is forwarded.</summary>
    public TimeSpan RefreshBeforeExpiry { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Whether the authorization request names the <c>Bff.Resource</c> of every route that carries the user's token
    /// (RFC 8707), so that providers which grant a resource at refresh only when it was requested at sign-in grant it.
    /// </summary>
    public bool RequestResourcesAtSignIn { get; set; } = true;
}

/// <summary>The Redis connection for shared sessions (<c>Bff:Redis</c>).</summary>
public sealed class RedisSettings
{
    /// <summary>
    /// A StackExchange.Redis connection string: a standalone primary (<c>redis:6379,password=…,ssl=true</c>), the
    /// Sentinels and the service they monitor (<c>sentinel-0:26379,sentinel-1:26379,serviceName=mymaster</c>), or some
    /// nodes of a Redis Cluster. Required when <c>Bff:Session:Store=Redis</c>; the Data Protection key ring is then
    /// kept there too.
    /// </summary>
    public string? Configuration { get; set; }

    /// <summary>
    /// Prefix of every key and channel the gateway uses, so several gateways can share one Redis. A <c>{</c> must be
    /// closed within the prefix (<c>{bff}:</c>), or Redis Cluster would spread one session's keys over several slots.
    /// </summary>
    public string KeyPrefix { get; set; } = "bff:";

    /// <summary>How long a (re)connection attempt may take before the gateway gives up on it and retries in the background.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long one Redis command may take. Bounds the latency a slow or unreachable Redis adds to a request (which then
    /// gets a 503); these settings win over timeouts written in the connection string.
    /// </summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// Which proxies may tell the gateway the client's address, scheme and host (<c>X-Forwarded-For</c>, <c>-Proto</c>,
/// <c>-Host</c>). Empty by default: no proxy is trusted, loopback included, so a client cannot make the gateway build
/// redirect URIs for another host or believe a plain-http request was https.
/// Entries bind as arrays (<c>Bff__ForwardedHeaders__KnownNetworks__0=10.0.0.0/8</c>); an entry may also hold several
/// values separated by commas (<c>Bff__ForwardedHeaders__KnownNetworks=10.0.0.0/8,fd00::/8</c>).
/// </summary>
public sealed class ForwardedHeadersSettings
{
    /// <summary>IP addresses of trusted proxies (for example 10.0.0.7).</summary>
    public IList<string> KnownProxies { get; set; } = [];

    /// <summary>Trusted networks in CIDR notation (for example 10.0.0.0/8).</summary>
    public IList<string> KnownNetworks { get; set; } = [];

    internal static IEnumerable<string> Entries(IEnumerable<string?> values) =>
        values.SelectMany(v => (v ?? string.Empty).Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    /// <summary>
    /// An address written in full: IPv6, or IPv4 with four parts (the parser would also read "10.1" as 10.0.0.1,
    /// which nobody means in a list of trusted proxies).
    /// </summary>
    internal static bool TryParseAddress(string value, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out System.Net.IPAddress? address)
    {
        address = null;
        if (value.Contains(':', StringComparison.Ordinal))
        {
            return System.Net.IPAddress.TryParse(value, out address)
                && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        }

        return value.Split('.').Length == 4
            && System.Net.IPAddress.TryParse(value, out address)
            && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork;
    }

    /// <summary>
    /// Every IPv4 or every IPv6 address: a prefix of 0, or an IPv6 network holding all of ::ffff:0:0/96 (the form in
    /// which a dual-stack socket reports IPv4 peers).
    /// </summary>
    internal static bool CoversEveryAddress(System.Net.IPNetwork network) =>
        network.PrefixLength == 0 || (network.PrefixLength <= 96 && SharesPrefix(network, IPv4MappedBase));

    /// <summary>
    /// Broad enough to deserve a warning: shorter than /8 for IPv4 (or IPv4 seen through ::ffff:0:0/96), /16 for IPv6.
    /// </summary>
    internal static bool IsVeryBroad(System.Net.IPNetwork network)
    {
        if (network.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
        {
            return network.PrefixLength < 8;
        }

        return network.BaseAddress.IsIPv4MappedToIPv6 ? network.PrefixLength < 96 + 8 : network.PrefixLength < 16;
    }

    private static readonly System.Net.IPAddress IPv4MappedBase = System.Net.IPAddress.Parse("::ffff:0.0.0.0");

    /// <summary>
    /// Bit by bit: <see cref="System.Net.IPNetwork.Contains"/> answers false for every IPv4-mapped address, so it cannot
    /// tell whether a network holds them.
    /// </summary>
    private static bool SharesPrefix(System.Net.IPNetwork network, System.Net.IPAddress address)
    {
        if (network.BaseAddress.AddressFamily != address.AddressFamily)
        {
            return false;
        }

        var a = network.BaseAddress.GetAddressBytes();
        var b = address.GetAddressBytes();
        for (var bit = 0; bit < network.PrefixLength; bit++)
        {
            var mask = 0x80 >> (bit % 8);
            if ((a[bit / 8] & mask) != (b[bit / 8] & mask))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// A network in CIDR notation whose address has no bits set beyond the prefix: "10.0.0.1/8" is refused rather than
    /// read as 10.0.0.0/8, because it may as well be a typo for 10.0.0.1/32.
    /// </summary>
    internal static bool TryParseNetwork(string value, out System.Net.IPNetwork network)
    {
        network = default;
        var slash = value.IndexOf('/', StringComparison.Ordinal);
        return slash > 0
            && TryParseAddress(value[..slash], out var address)
            && System.Net.IPNetwork.TryParse(value, out network)
            && network.BaseAddress.Equals(address);
    }
}
