using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Bff.Configuration;
using Bff.Observability;
using Bff.Provider;
using Bff.Redis;
using Bff.Sessions;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Bff.Bench;

/// <summary>
/// Bytes per session, counted rather than timed (valid on a busy machine): the managed heap's growth while the
/// in-memory store holds N sessions, at rest and in use, next to what the store kept before (each session as its
/// object graph, read once by a proxied call), and what the Redis store writes for the same sessions (the payload,
/// and with <c>--redis</c> Redis's own <c>MEMORY USAGE</c> and <c>used_memory</c> growth per key).
/// <para>
/// Sessions have the shapes of real providers' token sets, generated per session (JSON claim sets as providers issue
/// them, random signatures and ciphertext, nothing shared between sessions), so the figures do not depend on a
/// provider being up: <c>demo</c> is the demo provider (OpenIddict: RS256 access and ID tokens, a refresh token that
/// is an RSA-OAEP JWE under a 4096-bit key), <c>keycloak</c> and <c>entra</c> the shapes of Bff/Redis/README.md.
/// </para>
/// </summary>
internal static class SessionMemory
{
    public static async Task<int> RunAsync(string[] args)
    {
        var options = Args.Parse(args);
        var count = options.Int("sessions", 10_000);
        var redisConfiguration = options.GetValueOrDefault("redis");
        var shapes = (options.GetValueOrDefault("shapes") ?? "demo keycloak entra").Split(' ', StringSplitOptions.RemoveEmptyEntries);

        Console.WriteLine($"# Bytes per session ({count} sessions per shape; managed heap after a full GC)");
        Console.WriteLine();
        Console.WriteLine("| token set | object graph (the store before) | in memory, in use | **in memory, at rest** | record | Redis payload | Redis MEMORY USAGE | Redis used_memory per session | encode / decode µs | hot read ns |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        using var redis = redisConfiguration is null ? null : await ConnectionMultiplexer.ConnectAsync(redisConfiguration + ",allowAdmin=true");

        // Warm-up: the first shape would otherwise pay for the JIT in its timings.
        StoreFigures(shapes[0], Math.Min(count, 1_000));
        foreach (var shape in shapes)
        {
            var row = await MeasureAsync(shape, count, redis);
            Console.WriteLine(row);
        }

        return 0;
    }

    private static async Task<string> MeasureAsync(string shape, int count, ConnectionMultiplexer? redis)
    {
        var graphBytes = GraphBytes(shape, count);
        var store = StoreFigures(shape, count);

        // Redis: the payload the Redis store writes for the same session, and what Redis holds for it.
        var time = TimeProvider.System;
        var payloads = new SessionPayloadProtector(new EphemeralDataProtectionProvider());
        var sample = NewSession(shape, time.GetUtcNow());
        var payload = payloads.Protect(SessionKey.Hash(sample.Key), sample);
        var record = CompressedSessionRecord.Encode(string.Empty, sample, SessionRecord.Times.Ticks).Length;
        var (usage, perSession) = redis is null ? ("–", "–") : await RedisBytesAsync(redis, payloads, shape, Math.Min(count, 10_000), time);

        return string.Create(CultureInfo.InvariantCulture,
            $"| {shape} | {graphBytes:N0} B | {store.InUse:N0} B | **{store.AtRest:N0} B** (after two sweeps: {store.Released:N0} B) | {record:N0} B | {payload.Length:N0} B | {usage} | {perSession} | {store.EncodeMicroseconds:F1} / {store.DecodeMicroseconds:F1} | {store.HotReadNanoseconds:F0} |");
    }

    /// <summary>
    /// Before: every session as its object graph, read once the way a proxied call reads it (claims principal,
    /// <c>Authorization</c> header), which is what the store held until it kept records. A method of its own, so
    /// nothing of it outlives the measurement.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long GraphBytes(string shape, int count)
    {
        var baseline = Heap();
        var sessions = NewSessions(shape, count);
        var graphs = new Dictionary<string, UserSession>(count, StringComparer.Ordinal);
        foreach (var session in sessions)
        {
            _ = session.Principal;
            _ = session.Tokens.AuthorizationHeader;
            graphs[session.Key] = session;
        }

        Array.Clear(sessions);
        var bytes = (Heap() - baseline) / count;
        GC.KeepAlive(graphs);
        return bytes;
    }

    private readonly record struct StoreResult(long AtRest, long InUse, long Released, double EncodeMicroseconds, double DecodeMicroseconds, double HotReadNanoseconds);

    /// <summary>The store itself: at rest (created, never read), in use (read once by a proxied call), and after two sweeps without reads.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static StoreResult StoreFigures(string shape, int count)
    {
        var time = TimeProvider.System;
        var options = Options.Create(new BffOptions { Session = { MaxInMemorySessions = count + 1 } });
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new BffMetrics(services.GetRequiredService<IMeterFactory>());
        var keys = new string[count];
        var baseline = Heap();
        var store = new InMemorySessionStore(time, options, metrics);
        var sessions = NewSessions(shape, count);
        for (var i = 0; i < count; i++)
        {
            keys[i] = sessions[i].Key;
        }

        var encode = Stopwatch.StartNew();
        foreach (var session in sessions)
        {
            store.CreateAsync(session, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }

        encode.Stop();
        Array.Clear(sessions);
        var atRest = (Heap() - baseline) / count;

        var decode = Stopwatch.StartNew();
        foreach (var key in keys)
        {
            var found = Found(store.FindAsync(key, CancellationToken.None));
            _ = found.Principal;
            _ = found.Tokens.AuthorizationHeader;
        }

        decode.Stop();
        var inUse = (Heap() - baseline) / count;

        // The hot path: a session read while decoded, as every proxied call of an active session reads it.
        const int Rounds = 20;
        var hot = Stopwatch.StartNew();
        for (var round = 0; round < Rounds; round++)
        {
            foreach (var key in keys)
            {
                _ = Found(store.FindAsync(key, CancellationToken.None)).Tokens.AuthorizationHeader;
            }
        }

        hot.Stop();
        store.RemoveExpired();
        store.RemoveExpired();
        var released = (Heap() - baseline) / count;
        GC.KeepAlive(store);
        return new StoreResult(atRest, inUse, released,
            encode.Elapsed.TotalMicroseconds / count, decode.Elapsed.TotalMicroseconds / count, hot.Elapsed.TotalNanoseconds / count / Rounds);
    }

    /// <summary>The in-memory store answers synchronously; anything else would be a bug of this benchmark.</summary>
    private static UserSession Found(ValueTask<SessionLookup> lookup) =>
        lookup.IsCompletedSuccessfully ? lookup.Result.Session! : throw new InvalidOperationException("The in-memory store did not answer synchronously.");

    private static UserSession[] NewSessions(string shape, int count)
    {
        var now = TimeProvider.System.GetUtcNow();
        var sessions = new UserSession[count];
        for (var i = 0; i < count; i++)
        {
            sessions[i] = NewSession(shape, now);
        }

        return sessions;
    }

    /// <summary>Writes sessions as the Redis store does (one string per session: version, colon, payload) under a bench prefix, then removes them.</summary>
    private static async Task<(string Usage, string PerSession)> RedisBytesAsync(
        ConnectionMultiplexer redis, SessionPayloadProtector payloads, string shape, int count, TimeProvider time)
    {
        var database = redis.GetDatabase();
        var server = redis.GetServers()[0];
        var prefix = $"bff-bench:{Guid.NewGuid():N}:session:v2:";
        var before = UsedMemory(await server.InfoAsync("memory"));
        var keys = new List<RedisKey>(count);
        for (var i = 0; i < count; i += 100)
        {
            var batch = database.CreateBatch();
            var writes = new List<Task>();
            for (var j = i; j < Math.Min(count, i + 100); j++)
            {
                var session = NewSession(shape, time.GetUtcNow());
                var id = SessionKey.Hash(session.Key);
                var value = Encoding.ASCII.GetBytes("0:").Concat(payloads.Protect(id, session)).ToArray();
                RedisKey key = prefix + id;
                keys.Add(key);
                writes.Add(batch.StringSetAsync(key, value, TimeSpan.FromHours(1)));
            }

            batch.Execute();
            await Task.WhenAll(writes);
        }

        var after = UsedMemory(await server.InfoAsync("memory"));
        var usage = (long)(await database.ExecuteAsync("MEMORY", "USAGE", (string)keys[0]!, "SAMPLES", "0"));
        foreach (var chunk in keys.Chunk(500))
        {
            await database.KeyDeleteAsync(chunk);
        }

        return ($"{usage:N0} B", $"{(after - before) / count:N0} B");
    }

    private static long UsedMemory(IGrouping<string, KeyValuePair<string, string>>[] info) =>
        long.Parse(info.SelectMany(g => g).First(p => p.Key == "used_memory").Value, CultureInfo.InvariantCulture);

    private static long Heap()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        return GC.GetTotalMemory(forceFullCollection: true);
    }

    /// <summary>A signed-in session with a token set of the given provider's shape and a dozen claims, unique to it.</summary>
    internal static UserSession NewSession(string shape, DateTimeOffset now)
    {
        var subject = Guid.NewGuid().ToString();
        var sid = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var (access, refresh, id) = Tokens(shape, subject, sid, now);
        return new UserSession
        {
            Key = SessionKey.Create(subject),
            PublicId = SessionKey.CreatePublicId(),
            Subject = subject,
            ProviderSessionId = sid,
            Claims = shape == "demo"
                ? [new SessionClaim("sub", subject), new SessionClaim("sid", sid), new SessionClaim("name", "Alice Example"), new SessionClaim("email", "alice@example.com")]
                :
            [
                new SessionClaim("sub", subject),
                new SessionClaim("sid", sid),
                new SessionClaim("name", "Alice Example"),
                new SessionClaim("given_name", "Alice"),
                new SessionClaim("family_name", "Example"),
                new SessionClaim("preferred_username", "alice"),
                new SessionClaim("email", "alice@example.com"),
                new SessionClaim("email_verified", "true"),
                new SessionClaim("role", "user"),
                new SessionClaim("role", "orders.reader"),
                new SessionClaim("locale", "en-GB"),
                new SessionClaim("zoneinfo", "Europe/London"),
            ],
            CreatedAt = now,
            AbsoluteExpiresAt = now.AddHours(8),
            IdleExpiresAt = now.AddMinutes(30),
            Tokens = new TokenSet
            {
                AccessToken = access,
                AccessTokenExpiresAt = now.AddHours(1),
                AccessTokenLifetime = TimeSpan.FromHours(1),
                RefreshToken = refresh,
                IdToken = id,
                Scope = "openid profile email offline_access api",
            },
        };
    }

    private static (string Access, string? Refresh, string Id) Tokens(string shape, string subject, string sid, DateTimeOffset now)
    {
        var iat = now.ToUnixTimeSeconds();
        var common = $"\"sub\":\"{subject}\",\"iat\":{iat},\"nbf\":{iat},\"exp\":{iat + 3600},\"jti\":\"{Guid.NewGuid()}\"";
        switch (shape)
        {
            case "demo":
                // Decoded sizes of a real sign-in at the demo provider: access 630 B, refresh 2 553 B, ID 702 B.
                return (
                    Jws("""{"alg":"RS256","kid":"8B4C2E7A1F","typ":"at+jwt"}""",
                        $$"""{"iss":"http://localhost:5001/",{{common}},"aud":"demo_api","scope":"openid profile email offline_access demo_api","client_id":"bff","oi_prst":"bff","oi_au_id":"{{Guid.NewGuid()}}","oi_tkn_id":"{{Guid.NewGuid()}}"}""", 256),
                    Jwe("""{"alg":"RSA-OAEP","enc":"A256CBC-HS512","kid":"C0F7D3B2A9E8","typ":"oi_reft+jwt","cty":"JWT"}""", 512, 1_904),
                    Jws("""{"alg":"RS256","kid":"8B4C2E7A1F","typ":"JWT"}""",
                        $$"""{"iss":"http://localhost:5001/",{{common}},"aud":"bff","sid":"{{sid}}","nonce":"{{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32))}}","at_hash":"{{B64(RandomNumberGenerator.GetBytes(16))}}","oi_au_id":"{{Guid.NewGuid()}}","azp":"bff","oi_tkn_id":"{{Guid.NewGuid()}}","name":"Alice Example","email":"alice@example.com"}""", 256));
            case "keycloak":
                return (
                    Jws("""{"alg":"RS256","typ":"JWT","kid":"q3r7XGqVbD1xXJtq2xQ3eN7bJ1M5x0l0m9b8m4k2v6s"}""",
                        $$"""{"iss":"https://sso.example.com/realms/acme",{{common}},"auth_time":{{iat}},"aud":["orders","account"],"typ":"Bearer","azp":"bff","sid":"{{sid}}","acr":"1","allowed-origins":["https://app.example.com"],"realm_access":{"roles":["offline_access","uma_authorization","default-roles-acme","user"]},"resource_access":{"account":{"roles":["manage-account","manage-account-links","view-profile"]},"orders":{"roles":["reader"]} },"scope":"openid profile email offline_access","email_verified":true,"name":"Alice Example","preferred_username":"alice","given_name":"Alice","family_name":"Example","email":"alice@example.com"}""", 256),
                    Jws("""{"alg":"HS512","typ":"JWT","kid":"6f1b2d8e-4c1a-4e5b-9d3c-2a7f8e9b0c1d"}""",
                        $$"""{"iss":"https://sso.example.com/realms/acme",{{common}},"aud":"https://sso.example.com/realms/acme","typ":"Offline","azp":"bff","sid":"{{sid}}","scope":"openid profile email offline_access"}""", 64),
                    Jws("""{"alg":"RS256","typ":"JWT","kid":"q3r7XGqVbD1xXJtq2xQ3eN7bJ1M5x0l0m9b8m4k2v6s"}""",
                        $$"""{"iss":"https://sso.example.com/realms/acme",{{common}},"auth_time":{{iat}},"aud":"bff","typ":"ID","azp":"bff","nonce":"{{B64(RandomNumberGenerator.GetBytes(32))}}","sid":"{{sid}}","at_hash":"{{B64(RandomNumberGenerator.GetBytes(16))}}","acr":"1","email_verified":true,"name":"Alice Example","preferred_username":"alice","given_name":"Alice","family_name":"Example","email":"alice@example.com"}""", 256));
            case "entra":
                return (
                    Jws("""{"typ":"JWT","alg":"RS256","x5t":"L1KfKFI_jnXbwWc22xZxw1sUHH0","kid":"L1KfKFI_jnXbwWc22xZxw1sUHH0"}""",
                        $$"""{"aud":"api://orders","iss":"https://sts.windows.net/{{Guid.NewGuid()}}/",{{common}},"acr":"1","aio":"{{B64(RandomNumberGenerator.GetBytes(90))}}","amr":["pwd","mfa"],"appid":"{{Guid.NewGuid()}}","appidacr":"1","family_name":"Example","given_name":"Alice","idtyp":"user","ipaddr":"203.0.113.7","name":"Alice Example","oid":"{{Guid.NewGuid()}}","rh":"{{B64(RandomNumberGenerator.GetBytes(40))}}","roles":["Orders.Read"],"scp":"Orders.Read","tid":"{{Guid.NewGuid()}}","unique_name":"alice@example.com","upn":"alice@example.com","uti":"{{B64(RandomNumberGenerator.GetBytes(16))}}","ver":"1.0"}""", 256),
                    "0.A" + B64(RandomNumberGenerator.GetBytes(1_300)),
                    Jws("""{"typ":"JWT","alg":"RS256","kid":"L1KfKFI_jnXbwWc22xZxw1sUHH0"}""",
                        $$"""{"aud":"{{Guid.NewGuid()}}","iss":"https://login.microsoftonline.com/{{Guid.NewGuid()}}/v2.0",{{common}},"aio":"{{B64(RandomNumberGenerator.GetBytes(90))}}","email":"alice@example.com","name":"Alice Example","nonce":"{{B64(RandomNumberGenerator.GetBytes(32))}}","oid":"{{Guid.NewGuid()}}","preferred_username":"alice@example.com","rh":"{{B64(RandomNumberGenerator.GetBytes(40))}}","sid":"{{sid}}","tid":"{{Guid.NewGuid()}}","uti":"{{B64(RandomNumberGenerator.GetBytes(16))}}","ver":"2.0"}""", 256));
            default:
                throw new ArgumentException($"Unknown token shape '{shape}' (demo, keycloak, entra).");
        }
    }

    private static string Jws(string header, string payload, int signatureBytes) =>
        $"{B64(Encoding.UTF8.GetBytes(header))}.{B64(Encoding.UTF8.GetBytes(payload))}.{B64(RandomNumberGenerator.GetBytes(signatureBytes))}";

    private static string Jwe(string header, int encryptedKeyBytes, int ciphertextBytes) =>
        $"{B64(Encoding.UTF8.GetBytes(header))}.{B64(RandomNumberGenerator.GetBytes(encryptedKeyBytes))}.{B64(RandomNumberGenerator.GetBytes(16))}.{B64(RandomNumberGenerator.GetBytes(ciphertextBytes))}.{B64(RandomNumberGenerator.GetBytes(32))}";

    private static string B64(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);
}
