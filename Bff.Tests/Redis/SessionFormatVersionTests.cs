using Bff.Sessions;
using System.Net;
using Bff.Redis;
using Bff.Tests.Infrastructure;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Bff.Tests.Redis;

/// <summary>
/// A rolling upgrade across a change of the stored session format (Bff/Redis/README.md): a replica that meets a
/// payload of a format it does not know answers as for no session, and leaves the session alone for the replicas that
/// know it.
/// </summary>
public sealed class SessionFormatVersionTests : IAsyncLifetime
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
    public async Task A_session_in_a_format_this_replica_does_not_know_is_no_session_here_and_stays_for_the_replicas_that_know_it()
    {
        var a = _set.Start();
        using var browser = a.CreateBrowser();
        await browser.SignInAsync(_set.Idp);
        var cookie = browser.CookieValue("__Host-bff")!;
        var key = "bff:session:v2:" + SessionKey.Id(cookie);
        var stored = (byte[])(await Redis.StringGetAsync(key))!;

        // What a later release would write under this key: the same record, protected for its own format version.
        var colon = Array.IndexOf(stored, (byte)':');
        var dataProtection = a.Services.GetRequiredService<IDataProtectionProvider>();
        var record = dataProtection.CreateProtector(SessionPayloadProtector.Purpose).Unprotect(stored[(colon + 1)..]);
        byte[] newer = [.. stored[..(colon + 1)], .. dataProtection.CreateProtector("Bff.Sessions.Redis.Payload.v3").Protect(record)];
        Assert.True(await Redis.StringSetAsync(key, newer, expiry: null, keepTtl: true));

        // A replica whose cache never held the session, sharing the key ring.
        var b = _set.Start();
        using var onB = b.CreateBrowser();
        onB.PutCookie("__Host-bff", cookie);
        var user = await onB.GetWithCsrfAsync("/bff/user");

        Assert.Equal(HttpStatusCode.Unauthorized, user.StatusCode);
        Assert.Equal("application/problem+json", user.Content.Headers.ContentType?.MediaType);
        Assert.Contains("\"error\":\"unauthenticated\"", await user.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains(b.Logs.Lines, l => l.EventId.Id == 1051);
        // Neither the browser's cookie nor the stored session is thrown away...
        Assert.DoesNotContain(SetCookie.From(user), c => c.Name == "__Host-bff");
        Assert.Equal(newer, (byte[])(await Redis.StringGetAsync(key))!);

        // ...so once the replica reads that format (here: the payload in the format it knows), the same cookie works.
        Assert.True(await Redis.StringSetAsync(key, stored, expiry: null, keepTtl: true));
        Assert.Equal(HttpStatusCode.OK, (await onB.GetWithCsrfAsync("/bff/user")).StatusCode);
    }
}
