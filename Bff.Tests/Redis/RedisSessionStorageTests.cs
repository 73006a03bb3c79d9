using Bff.Provider;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Bff.Sessions;
using Bff.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Bff.Tests.Redis;

/// <summary>What a session looks like in Redis: encrypted, keyed by a hash, expiring with the session, small.</summary>
public sealed class RedisSessionStorageTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly ReplicaSet _set = new();
    private ConnectionMultiplexer? _inspector;

    private IDatabase Redis => _inspector!.GetDatabase();

    public async Task InitializeAsync()
    {
        await _set.InitializeAsync();
        _inspector = await ConnectionMultiplexer.ConnectAsync(_set.Redis.Configuration);
    }

    public async Task DisposeAsync()
    {
        await _inspector!.DisposeAsync();
        await _set.DisposeAsync();
    }

    [Fact]
    public async Task A_session_is_stored_encrypted_under_the_hash_of_its_cookie_and_expires_with_the_session()
    {
        var a = _set.Start();
        using var browser = a.CreateBrowser();
        await browser.SignInAsync(_set.Idp, shape: s => s.ProviderSessionId = "sid-storage");
        var cookie = browser.CookieValue("__Host-bff")!;
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(cookie)));
        // The cookie ends with the subject's slot tag; the session's id and keys carry it as a Redis Cluster hash tag.
        var tag = "{" + cookie[^4..] + "}";
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes("alice")))[..4], cookie[^4..]);
        var id = hash + tag;

        var sessionKey = "bff:session:v2:" + id;
        Assert.True(await Redis.KeyExistsAsync(sessionKey));
        var keys = _inspector!.GetServers().Single().Keys(pattern: "bff:*").Select(k => k.ToString()).ToList();
        var everything = string.Join('\n', keys) + '\n' + string.Concat(await Task.WhenAll(keys
            .Where(k => k.StartsWith("bff:session:", StringComparison.Ordinal))
            .Select(async k => (string?)await Redis.StringGetAsync(k))));
        Assert.DoesNotContain(cookie, everything, StringComparison.Ordinal);
        Assert.DoesNotContain("rt.alice.", everything, StringComparison.Ordinal);
        Assert.DoesNotContain("at.alice.", everything, StringComparison.Ordinal);
        Assert.DoesNotContain("alice", everything, StringComparison.Ordinal);
        Assert.DoesNotContain("sid-storage", everything, StringComparison.Ordinal);

        // The default idle timeout (30 min) ends the session before the absolute one (8 h)...
        var ttl = await Redis.KeyTimeToLiveAsync(sessionKey);
        Assert.InRange(ttl!.Value, TimeSpan.FromMinutes(29), TimeSpan.FromMinutes(30));
        // ...while the back-channel indexes live as long as a session of theirs could.
        var sid = keys.Single(k => k.StartsWith("bff:sid:", StringComparison.Ordinal));
        Assert.Equal(id, (string?)(await Redis.SetMembersAsync(sid)).Single());
        Assert.InRange((await Redis.KeyTimeToLiveAsync(sid))!.Value, TimeSpan.FromHours(7.9), TimeSpan.FromHours(8));

        // One per-user index in the session's slot (sorted by creation, with the details a list of sessions shows), no
        // other per-user set.
        var subject = SessionKey.Hash("alice") + tag;
        Assert.DoesNotContain(keys, k => k.StartsWith("bff:sub:", StringComparison.Ordinal));
        Assert.Equal(id, (string?)(await Redis.SortedSetRangeByRankAsync("bff:subject-sessions:" + subject)).Single());
        var details = (string?)await Redis.HashGetAsync("bff:subject-sessions:" + subject + ":details", id);
        Assert.Matches(@"^1\|\d+\|\d+\|$", details);
        foreach (var index in new[] { "bff:subject-sessions:" + subject, "bff:subject-sessions:" + subject + ":details" })
        {
            Assert.InRange((await Redis.KeyTimeToLiveAsync(index))!.Value, TimeSpan.FromHours(7.9), TimeSpan.FromHours(8));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_typical_session_takes_less_than_4_KB_in_Redis(bool encryptedRefreshToken)
    {
        var a = _set.Start();
        var store = a.Services.GetRequiredService<ISessionStore>();
        var session = TypicalSession();
        if (encryptedRefreshToken)
        {
            session = session with { Tokens = session.Tokens with { RefreshToken = EncryptedRefreshToken(session) } };
        }

        Assert.Equal(StoreOutcome.Ok, await store.CreateAsync(session, CancellationToken.None));

        var id = SessionKey.Id(session.Key);
        var key = "bff:session:v2:" + id;
        var valueBytes = await Redis.StringLengthAsync(key);
        var memoryUsage = (long)(await Redis.ExecuteAsync("MEMORY", "USAGE", key, "SAMPLES", "0"));
        var tokenBytes = session.Tokens.AccessToken.Length + session.Tokens.RefreshToken!.Length + session.Tokens.IdToken!.Length;
        output.WriteLine($"Session value: {valueBytes} bytes, {memoryUsage} bytes of Redis memory (tokens alone: {tokenBytes} bytes of text, {session.Claims.Count} claims).");
        Assert.InRange(memoryUsage, valueBytes, 4096);
        var found = await store.FindAsync(session.Key, CancellationToken.None);
        Assert.Equal(session.Tokens, found.Session!.Tokens);
        Assert.Equal(session.Claims, found.Session.Claims);
    }

    [Fact]
    public async Task A_sliding_expiry_write_with_older_tokens_keeps_the_slide_but_never_undoes_a_refresh_made_elsewhere()
    {
        var a = _set.Start();
        var b = _set.Start();
        var storeOnA = a.Services.GetRequiredService<ISessionStore>();
        var storeOnB = b.Services.GetRequiredService<ISessionStore>();
        var session = TypicalSession();
        await storeOnA.CreateAsync(session, CancellationToken.None);
        var readByB = (await storeOnB.FindAsync(session.Key, CancellationToken.None)).Session!;

        // A refreshes the tokens...
        var refreshed = session with
        {
            Tokens = session.Tokens with { AccessToken = "at.new", RefreshToken = "rt.new", Version = session.Tokens.Version + 1 },
        };
        Assert.Equal(StoreOutcome.Ok, await storeOnA.ReplaceAsync(refreshed, CancellationToken.None));
        // ...while B slides the idle expiry of the copy it read before.
        var slid = readByB.IdleExpiresAt.AddMinutes(1);
        Assert.Equal(StoreOutcome.Ok, await storeOnB.ReplaceAsync(readByB with { IdleExpiresAt = slid }, CancellationToken.None));

        var stored = (await storeOnA.FindAsync(session.Key, CancellationToken.None)).Session!;
        Assert.Equal("rt.new", stored.Tokens.RefreshToken);
        Assert.Equal(refreshed.Tokens.Version, stored.Tokens.Version);
        // The slide itself is kept.
        Assert.Equal(slid, stored.IdleExpiresAt);
    }

    /// <summary>
    /// A session as a common provider would leave it: a dozen profile claims, an RS256 access token with the usual
    /// claims (about 1 KB), an opaque refresh token and an RS256 ID token.
    /// </summary>
    private UserSession TypicalSession()
    {
        // Whole seconds: the store keeps milliseconds.
        var now = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        var claims = new Dictionary<string, string>
        {
            ["sub"] = "248289761001",
            ["name"] = "Jane Q. Example",
            ["given_name"] = "Jane",
            ["family_name"] = "Example",
            ["preferred_username"] = "jane.example",
            ["email"] = "jane.example@example.com",
            ["email_verified"] = "true",
            ["locale"] = "en-GB",
            ["zoneinfo"] = "Europe/London",
            ["updated_at"] = "1735689600",
            ["idp"] = "local",
            ["amr"] = "pwd",
        };
        var accessToken = Sign(new Dictionary<string, object>
        {
            ["iss"] = _set.Idp.Issuer, ["sub"] = claims["sub"], ["aud"] = "https://api.example.com",
            ["client_id"] = TestIdentityProvider.ClientId, ["scope"] = "openid profile email offline_access orders.read orders.write",
            ["sid"] = "7f3c2a9e1b4d8f60", ["jti"] = Guid.NewGuid().ToString("N"), ["auth_time"] = now.ToUnixTimeSeconds(),
            ["iat"] = now.ToUnixTimeSeconds(), ["nbf"] = now.ToUnixTimeSeconds(), ["exp"] = now.AddMinutes(5).ToUnixTimeSeconds(),
            ["role"] = new[] { "customer", "beta-tester" }, ["tenant"] = "contoso-eu", ["email"] = claims["email"],
        });
        var idToken = _set.Idp.CreateIdToken(new IdTokenShape
        {
            Subject = claims["sub"],
            Nonce = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            Claims = claims.Where(c => c.Key != "sub").ToDictionary(c => c.Key, c => (object)c.Value),
        });

        return new UserSession
        {
            Key = SessionKey.Create(claims["sub"]),
            PublicId = SessionKey.CreatePublicId(),
            Subject = claims["sub"],
            ProviderSessionId = "7f3c2a9e1b4d8f60",
            Claims = [.. claims.Select(c => new SessionClaim(c.Key, c.Value))],
            CreatedAt = now,
            AbsoluteExpiresAt = now.AddHours(8),
            IdleExpiresAt = now.AddMinutes(30),
            Tokens = new TokenSet
            {
                AccessToken = accessToken,
                AccessTokenExpiresAt = now.AddMinutes(5),
                RefreshToken = Convert.ToHexString(RandomNumberGenerator.GetBytes(32)),
                IdToken = idToken,
            },
        };
    }

    /// <summary>
    /// A refresh token as OpenIddict (the demo provider) issues it, about 3 KB: the grant's claims in a signed JWT,
    /// encrypted to a 4096-bit RSA key (RSA-OAEP, A256CBC-HS512).
    /// </summary>
    private string EncryptedRefreshToken(UserSession session)
    {
        using var encryptionKey = RSA.Create(4096);
        var claims = session.Claims.GroupBy(c => c.Type).ToDictionary(g => g.Key, g => (object)g.First().Value);
        claims["iss"] = _set.Idp.Issuer;
        claims["exp"] = session.AbsoluteExpiresAt.ToUnixTimeSeconds();
        claims["oi_crt_dt"] = session.CreatedAt.ToString("O");
        claims["oi_scp"] = new[] { "openid", "profile", "email", "offline_access", "orders.read", "orders.write" };
        claims["oi_rsrc"] = new[] { "https://api.example.com" };
        claims["oi_tkn_id"] = Guid.NewGuid().ToString();
        claims["oi_au_id"] = Guid.NewGuid().ToString();
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            SigningCredentials = new SigningCredentials(_set.Idp.SigningKey, SecurityAlgorithms.RsaSha256),
            EncryptingCredentials = new EncryptingCredentials(
                new RsaSecurityKey(encryptionKey), SecurityAlgorithms.RsaOAEP, SecurityAlgorithms.Aes256CbcHmacSha512),
        });
    }

    private string Sign(Dictionary<string, object> claims) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Claims = claims,
        SigningCredentials = new SigningCredentials(_set.Idp.SigningKey, SecurityAlgorithms.RsaSha256),
    });
}
