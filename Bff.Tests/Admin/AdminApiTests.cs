using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using Bff.Observability;
using Bff.Redis;
using Bff.Sessions;
using Bff.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using StackExchange.Redis;
using static Bff.Observability.TelemetryNames;

namespace Bff.Tests.Admin;

/// <summary>
/// The admin API: on its own port only, for callers with a provider-issued bearer token for its audience carrying the
/// configured role or scope; lists and ends users' sessions across replicas, logs and counts every action.
/// </summary>
public sealed class AdminApiTests : IAsyncLifetime
{
    private const string Audience = "bff-admin";
    private const string Role = "session-admin";

    private readonly ReplicaSet _set = new();
    private readonly List<IDisposable> _owned = [];

    public Task InitializeAsync() => _set.InitializeAsync();

    public async Task DisposeAsync()
    {
        _owned.ForEach(o => o.Dispose());
        await _set.DisposeAsync();
    }

    [Fact]
    public async Task An_admin_ends_one_session_of_a_user_on_replica_A_and_its_next_call_on_replica_B_gets_401()
    {
        var (a, adminA) = StartWithAdmin();
        var (b, _) = StartWithAdmin();
        using var actions = new CounterTotals(a.Services.GetRequiredService<BffMetrics>().Meter, Attributes.AdminAction);
        var laptop = await SignedInAsync(a, "alice");
        var phone = await SignedInAsync(a, "alice");
        Assert.Equal(HttpStatusCode.OK, (await phone.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode);
        var token = AdminToken(roles: [Role]);

        var list = await SendAsync(HttpMethod.Get, adminA + "bff/admin/sessions?sub=alice", token);
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        var body = await list.Content.ReadAsStringAsync();
        var handles = JsonDocument.Parse(body).RootElement.GetProperty("sessions").EnumerateArray().Select(s => s.GetProperty("handle").GetString()!).ToArray();
        Assert.Equal(2, handles.Length);
        Assert.DoesNotContain(laptop.CookieValue("__Host-bff")!, body, StringComparison.Ordinal);
        Assert.DoesNotContain(SessionKey.Hash(phone.CookieValue("__Host-bff")!), body, StringComparison.Ordinal);
        Assert.DoesNotContain("rt.", body, StringComparison.Ordinal);

        var end = await SendAsync(HttpMethod.Delete, adminA + $"bff/admin/sessions?sub=alice&handle={handles[1]}&revoke=true", token);

        Assert.Equal(HttpStatusCode.OK, end.StatusCode);
        Assert.True(await ReplicaSet.EventuallyAsync(
            async () => (await phone.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode == HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(1)));
        Assert.Equal(HttpStatusCode.OK, (await laptop.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode);
        Assert.Single(_set.Idp.RequestsTo("/revoke"));
        // Logged with the caller's identity, never its token; counted.
        var lines = a.Logs.Lines.Where(l => l.EventId.Id == 7001).Select(l => l.Message).ToArray();
        Assert.Equal(2, lines.Length);
        Assert.All(lines, l => Assert.StartsWith("Admin ops-console: ", l, StringComparison.Ordinal));
        Assert.DoesNotContain(a.Logs.Lines, l => l.Message.Contains(token, StringComparison.Ordinal) || l.Message.Contains(token.Split('.')[2], StringComparison.Ordinal));
        Assert.Equal(1, actions[Instruments.AdminActions, AdminActions.ListSessions]);
        Assert.Equal(1, actions[Instruments.AdminActions, AdminActions.EndSession]);
    }

    [Fact]
    public async Task An_admin_ends_every_session_of_a_user_and_with_confirmation_every_session_of_everyone()
    {
        var (a, admin) = StartWithAdmin();
        var alices = new[] { await SignedInAsync(a, "alice"), await SignedInAsync(a, "alice") };
        var bob = await SignedInAsync(a, "bob");
        var token = AdminToken(scope: "openid " + Role + "-scope");

        var user = await SendAsync(HttpMethod.Delete, admin + "bff/admin/sessions?sub=alice", token);

        Assert.Equal(2, JsonDocument.Parse(await user.Content.ReadAsStringAsync()).RootElement.GetProperty("ended").GetInt32());
        foreach (var alice in alices)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await alice.GetWithCsrfAsync("/bff/user")).StatusCode);
        }

        Assert.Empty(_set.Idp.RequestsTo("/revoke"));
        Assert.Equal(HttpStatusCode.OK, (await bob.GetWithCsrfAsync("/bff/user")).StatusCode);

        var unconfirmed = await SendAsync(HttpMethod.Post, admin + "bff/admin/sessions/end-all?confirm=yes", token);
        Assert.Equal((HttpStatusCode.BadRequest, "confirmation_required"), (unconfirmed.StatusCode, await ErrorAsync(unconfirmed)));
        Assert.Equal(HttpStatusCode.OK, (await bob.GetWithCsrfAsync("/bff/user")).StatusCode);

        var everything = await SendAsync(HttpMethod.Post, admin + "bff/admin/sessions/end-all?confirm=end-every-session", token);

        Assert.Equal(HttpStatusCode.OK, everything.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await bob.GetWithCsrfAsync("/bff/user")).StatusCode);
        Assert.Contains(a.Logs.Lines, l => l.EventId.Id == 7002 && l.Message.StartsWith("Admin ops-console: ended every session", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Break_glass_on_replica_A_ends_the_open_event_streams_on_every_replica_as_revoked_and_later_sign_ins_keep_theirs()
    {
        var (a, admin) = StartWithAdmin();
        var b = _set.Start();
        var alice = await SignedInAsync(a, "alice");
        var bob = await SignedInAsync(b, "bob");
        var bobAgain = await SignedInAsync(a, "bob");
        using var aliceOnB = await EventStreamClient.OpenReadyAsync(b, alice);
        using var bobOnB = await EventStreamClient.OpenReadyAsync(b, bob);
        using var bobOnA = await EventStreamClient.OpenReadyAsync(a, bob);
        using var bobAgainOnB = await EventStreamClient.OpenReadyAsync(b, bobAgain);
        await using var redis = await ConnectionMultiplexer.ConnectAsync(_set.Redis.Configuration);
        var notices = await redis.GetSubscriber().SubscribeAsync(a.Services.GetRequiredService<RedisConnection>().Keys.SessionEnded);

        var everything = await SendAsync(HttpMethod.Post, admin + "bff/admin/sessions/end-all?confirm=end-every-session", AdminToken(roles: [Role]));

        Assert.Equal(HttpStatusCode.OK, everything.StatusCode);
        Assert.Equal(3, JsonDocument.Parse(await everything.Content.ReadAsStringAsync()).RootElement.GetProperty("ended").GetInt32());
        foreach (var stream in new[] { aliceOnB, bobOnB, bobOnA, bobAgainOnB })
        {
            var ended = await stream.NextEventAsync();
            Assert.Equal("ended", ended!.Name);
            Assert.Equal("revoked", ended.Json.GetProperty("reason").GetString());
            Assert.Null(await stream.NextAsync());
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await alice.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode);
        await ASessionSignedInAfterwardsKeepsItsStreamUntilItsOwnEndAsync(a, b);

        // Three sessions ended by one message, naming no session: replica A's next notice (carol's logout) follows it.
        var broadcast = ((string)(await notices.ReadAsync().AsTask().WaitAsync(EventStreamClient.ReadBound)).Message!).Split('|');
        Assert.Equal(6, broadcast.Length);
        Assert.Equal("revoked", broadcast[1]);
        Assert.All(broadcast[2..5], part => Assert.Empty(part));
        Assert.True(long.TryParse(broadcast[5], out _));
        var next = (string)(await notices.ReadAsync().AsTask().WaitAsync(EventStreamClient.ReadBound)).Message!;
        Assert.Equal("logout", next.Split('|')[1]);
    }

    [Fact]
    public async Task Break_glass_with_in_memory_sessions_ends_the_open_event_streams_as_revoked_and_later_sign_ins_keep_theirs()
    {
        var (gateway, admin) = StartWithAdmin(new Dictionary<string, string?> { ["Bff:Session:Store"] = "InMemory" });
        var alice = await SignedInAsync(gateway, "alice");
        using var tab1 = await EventStreamClient.OpenReadyAsync(gateway, alice);
        using var tab2 = await EventStreamClient.OpenReadyAsync(gateway, alice);

        var everything = await SendAsync(HttpMethod.Post, admin + "bff/admin/sessions/end-all?confirm=end-every-session", AdminToken(roles: [Role]));

        Assert.Equal(HttpStatusCode.OK, everything.StatusCode);
        foreach (var stream in new[] { tab1, tab2 })
        {
            var ended = await stream.NextEventAsync();
            Assert.Equal("ended", ended!.Name);
            Assert.Equal("revoked", ended.Json.GetProperty("reason").GetString());
            Assert.Null(await stream.NextAsync());
        }

        await ASessionSignedInAfterwardsKeepsItsStreamUntilItsOwnEndAsync(gateway, gateway);
    }

    /// <summary>
    /// Signs a user in on <paramref name="signIn"/> after the break glass, opens its stream on <paramref name="listen"/>,
    /// and checks the stream is live (it hears the user's own logout, not the break glass).
    /// </summary>
    private async Task ASessionSignedInAfterwardsKeepsItsStreamUntilItsOwnEndAsync(GatewayReplica signIn, GatewayReplica listen)
    {
        var carol = await SignedInAsync(signIn, "carol");
        using var stream = await EventStreamClient.OpenReadyAsync(listen, carol);
        var user = await carol.GetWithCsrfAsync(listen.Url("/bff/user?slide=false"));
        Assert.Equal(HttpStatusCode.OK, user.StatusCode);

        using var json = JsonDocument.Parse(await user.Content.ReadAsStringAsync());
        var logout = await carol.GetAsync(signIn.Url(json.RootElement.GetProperty("logoutUrl").GetString()!));
        Assert.True(logout.StatusCode is HttpStatusCode.Redirect or HttpStatusCode.Found);

        var ended = await stream.NextEventAsync();
        Assert.Equal("ended", ended!.Name);
        Assert.Equal("logout", ended.Json.GetProperty("reason").GetString());
    }

    public static TheoryData<string> RefusedTokens => new()
    {
        "none", "no-role", "wrong-audience", "expired", "foreign-key", "id-token", "session-cookie", "hs256",
    };

    [Theory]
    [MemberData(nameof(RefusedTokens))]
    public async Task A_caller_without_a_valid_token_carrying_the_role_ends_nothing(string kind)
    {
        var (a, admin) = StartWithAdmin();
        var alice = await SignedInAsync(a, "alice");
        using var request = new HttpRequestMessage(HttpMethod.Delete, admin + "bff/admin/sessions?sub=alice");
        var token = kind switch
        {
            "no-role" => AdminToken(roles: ["reader"]),
            "wrong-audience" => AdminToken(roles: [Role], audience: TestIdentityProvider.ClientId),
            "expired" => AdminToken(roles: [Role], lifetime: TimeSpan.FromMinutes(-5)),
            "foreign-key" => AdminToken(roles: [Role], key: new RsaSecurityKey(RSA.Create(2048)) { KeyId = _set.Idp.SigningKey.KeyId }),
            "id-token" => AdminToken(roles: [Role], nonce: "n-1"),
            "hs256" => AdminToken(roles: [Role], key: new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(32)) { KeyId = _set.Idp.SigningKey.KeyId }),
            _ => null,
        };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (kind == "session-cookie")
        {
            request.Headers.Add("Cookie", "__Host-bff=" + alice.CookieValue("__Host-bff"));
            request.Headers.Add("X-CSRF", "1");
        }

        using var http = new HttpClient();
        var response = await http.SendAsync(request);

        var expected = kind == "no-role" ? (HttpStatusCode.Forbidden, "admin_forbidden") : (HttpStatusCode.Unauthorized, "admin_unauthenticated");
        Assert.Equal(expected, (response.StatusCode, await ErrorAsync(response)));
        Assert.Equal(HttpStatusCode.OK, (await alice.GetWithCsrfAsync("/bff/user")).StatusCode);
        Assert.Contains(a.Logs.Lines, l => l.EventId.Id == 7003);
    }

    [Fact]
    public async Task The_admin_API_is_not_on_the_public_port_and_nothing_else_is_on_the_admin_port()
    {
        var (a, admin) = StartWithAdmin();
        var alice = await SignedInAsync(a, "alice");
        var token = AdminToken(roles: [Role]);

        var onPublic = await SendAsync(HttpMethod.Delete, a.Url("/bff/admin/sessions?sub=alice"), token);
        using var userOnAdmin = new HttpRequestMessage(HttpMethod.Get, admin + "bff/user");
        userOnAdmin.Headers.Add("Cookie", "__Host-bff=" + alice.CookieValue("__Host-bff"));
        userOnAdmin.Headers.Add("X-CSRF", "1");
        using var http = new HttpClient();
        var userAnswer = await http.SendAsync(userOnAdmin);
        var healthOnAdmin = await http.GetAsync(admin + "health/live");

        Assert.Equal(HttpStatusCode.NotFound, onPublic.StatusCode);
        Assert.Equal((HttpStatusCode.NotFound, "not_found"), (userAnswer.StatusCode, await ErrorAsync(userAnswer)));
        Assert.Equal(HttpStatusCode.NotFound, healthOnAdmin.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await alice.GetWithCsrfAsync("/bff/user")).StatusCode);
    }

    [Fact]
    public async Task With_the_admin_API_off_its_port_setting_opens_nothing()
    {
        var port = FreePort();
        var a = _set.Start(new Dictionary<string, string?> { ["Bff:Admin:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        await SignedInAsync(a, "alice");

        // The port is listened on (the test host binds it), but the admin API does not answer there.
        var response = await SendAsync(HttpMethod.Get, $"http://127.0.0.1:{port}/bff/admin/sessions?sub=alice", AdminToken(roles: [Role]));

        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task An_admin_port_the_host_does_not_listen_on_is_reported_at_start_up()
    {
        var configured = FreePort();
        GatewayReplica a;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                a = _set.Start(
                    new Dictionary<string, string?>
                    {
                        ["Bff:Admin:Enabled"] = "true",
                        ["Bff:Admin:Port"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
                        ["Bff:Admin:Audience"] = Audience,
                        ["Bff:Admin:Role"] = Role,
                    },
                    services => services.PostConfigure<Bff.Configuration.BffOptions>(o => o.Admin.Port = configured));
                break;
            }
            catch (IOException) when (attempt < 3)
            {
            }
        }

        var (b, _) = StartWithAdmin();

        Assert.True(await ReplicaSet.EventuallyAsync(() => Task.FromResult(a.Logs.Lines.Any(l => l.EventId.Id == 7006)), TimeSpan.FromSeconds(5)));
        Assert.Contains($"does not listen on Bff:Admin:Port ({configured})", a.Logs.Lines.First(l => l.EventId.Id == 7006).Message, StringComparison.Ordinal);
        Assert.DoesNotContain(b.Logs.Lines, l => l.EventId.Id == 7006);
    }

    private (GatewayReplica Replica, string Admin) StartWithAdmin(IDictionary<string, string?>? settings = null)
    {
        // Another process can take the free port between probing and binding it: try a few.
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort();
            try
            {
                var all = new Dictionary<string, string?>
                {
                    ["Bff:Admin:Enabled"] = "true",
                    ["Bff:Admin:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["Bff:Admin:Audience"] = Audience,
                    ["Bff:Admin:Role"] = Role,
                    ["Bff:Admin:Scope"] = Role + "-scope",
                };
                foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
                {
                    all[key] = value;
                }

                var replica = _set.Start(all);
                return (replica, $"http://127.0.0.1:{port}/");
            }
            catch (IOException) when (attempt < 3)
            {
            }
        }
    }

    private async Task<BrowserClient> SignedInAsync(GatewayReplica replica, string subject)
    {
        var browser = replica.CreateBrowser();
        _owned.Add(browser);
        Assert.Equal(HttpStatusCode.Redirect, (await browser.SignInAsync(_set.Idp, subject: subject)).StatusCode);
        return browser;
    }

    private string AdminToken(
        string[]? roles = null, string? scope = null, string audience = Audience, TimeSpan? lifetime = null, SecurityKey? key = null, string? nonce = null)
    {
        var now = DateTimeOffset.UtcNow;
        var claims = new Dictionary<string, object>
        {
            ["iss"] = _set.Idp.Issuer,
            ["aud"] = audience,
            ["sub"] = "ops-console",
            ["client_id"] = "ops-console",
            ["iat"] = now.ToUnixTimeSeconds(),
            ["exp"] = (now + (lifetime ?? TimeSpan.FromMinutes(5))).ToUnixTimeSeconds(),
        };
        if (roles is not null)
        {
            claims["roles"] = roles;
        }

        if (scope is not null)
        {
            claims["scope"] = scope;
        }

        if (nonce is not null)
        {
            claims["nonce"] = nonce;
        }

        var signingKey = key ?? _set.Idp.SigningKey;
        var algorithm = signingKey is SymmetricSecurityKey ? SecurityAlgorithms.HmacSha256 : SecurityAlgorithms.RsaSha256;
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            SigningCredentials = new SigningCredentials(signingKey, algorithm),
        });
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpMethod method, string url, string token)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(method, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var response = await http.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    private static async Task<string?> ErrorAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString();

    private static int FreePort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
