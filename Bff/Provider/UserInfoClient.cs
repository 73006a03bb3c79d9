using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Bff.Configuration;
using Bff.DPoP;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;
using Polly.Timeout;

namespace Bff.Provider;

internal enum UserInfoStatus
{
    Read,

    /// <summary>The provider's metadata names no userinfo endpoint.</summary>
    NotOffered,

    /// <summary>The provider cannot be reached, refused the token, or answered something unreadable.</summary>
    Unavailable,
}

/// <summary>Userinfo's claims, or why there are none (<see cref="Problem"/>: a phrase for the log, never a value).</summary>
internal sealed record UserInfoResult(UserInfoStatus Status, IReadOnlyList<Claim> Claims, string? Problem)
{
    public string? Subject => Claims.FirstOrDefault(c => c.Type == "sub")?.Value;

    /// <summary>The response's JSON object (a signed response's verified payload), for the OpenID Connect handler's claim actions at sign-in; undefined when not read.</summary>
    public JsonElement Json { get; init; }

    public static UserInfoResult Unavailable(string problem) => new(UserInfoStatus.Unavailable, [], problem);
}

/// <summary>
/// Reads the provider's userinfo endpoint (from discovery) with an access token, as the OpenID Connect handler does at
/// sign-in: a JSON object whose members become claims (strings as they are, other values as their JSON text, which
/// the session turns into one claim per array element).
/// <para>
/// A signed answer (<c>application/jwt</c>, the client registered <c>userinfo_signed_response_alg</c>; OpenID Connect
/// Core 5.3.2) is read only once verified, as a logout token is (<see cref="SigningKeyRefresh.ProviderSignedJwt"/>): one
/// of the provider's keys (a rotated one fetched once), an asymmetric algorithm the provider offers for userinfo
/// (<c>userinfo_signing_alg_values_supported</c>, when published), never <c>none</c>; <c>iss</c> the provider and
/// <c>aud</c> naming <c>Bff:ClientId</c> when present (the specification only says they SHOULD be). Its payload is then
/// read exactly as a JSON answer. An encrypted answer (JWE) is not read: the gateway holds no decryption key.
/// </para>
/// <para>
/// A token bound to one of the gateway's DPoP keys goes as <c>Authorization: DPoP …</c> with a proof signed by that key
/// (RFC 9449 §7; <see cref="DPoPBoundTokenHandler"/> makes it, per attempt, and answers a nonce challenge once); a
/// bearer token as <c>Bearer …</c> without a proof.
/// </para>
/// </summary>
internal sealed class UserInfoClient(
    ProviderMetadata metadata,
    IHttpClientFactory httpClientFactory,
    DPoPKeys dpopKeys,
    SigningKeyRefresh signingKeys,
    IOptions<BffOptions> options,
    ILogger<UserInfoClient> logger)
{
    private const int MaxResponseBytes = 256 * 1024;

    private static readonly JsonWebTokenHandler Handler = new() { MapInboundClaims = false };

    /// <param name="accessToken">The access token userinfo is read with.</param>
    /// <param name="boundKeyThumbprint">
    /// The thumbprint of the DPoP key the token is bound to (<see cref="TokenSet.DPoPKeyThumbprint"/>); null for a bearer token.
    /// </param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<UserInfoResult> GetAsync(string accessToken, string? boundKeyThumbprint, CancellationToken cancellationToken)
    {
        var provider = await metadata.GetAsync(cancellationToken);
        var endpoint = provider.Configuration?.UserInfoEndpoint;
        if (string.IsNullOrEmpty(endpoint))
        {
            return provider.Succeeded
                ? new UserInfoResult(UserInfoStatus.NotOffered, [], "no userinfo_endpoint in metadata")
                : UserInfoResult.Unavailable("metadata unavailable");
        }

        DPoPKey? boundKey = null;
        if (boundKeyThumbprint is not null)
        {
            boundKey = await dpopKeys.FindAsync(boundKeyThumbprint, cancellationToken);
            if (boundKey is null)
            {
                DPoPLog.UserInfoKeyUnknown(logger, boundKeyThumbprint);
                return UserInfoResult.Unavailable("the DPoP key the token is bound to is unknown");
            }
        }

        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, endpoint);
            if (boundKey is null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
            }
            else
            {
                request.Headers.Authorization = new AuthenticationHeaderValue(DPoPProof.HeaderName, accessToken);
                request.Options.Set(DPoPBoundTokenHandler.BoundKey, boundKey);
            }

            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/jwt"));
            using var response = await httpClientFactory.CreateClient(ProviderHttp.RetryingClientName)
                .SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return UserInfoResult.Unavailable($"HTTP {(int)response.StatusCode}");
            }

            var mediaType = response.Content.Headers.ContentType?.MediaType;
            var signed = string.Equals(mediaType, "application/jwt", StringComparison.OrdinalIgnoreCase);
            if (mediaType is null
                || !(signed || mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase)))
            {
                return UserInfoResult.Unavailable("neither a JSON nor a signed (application/jwt) response");
            }

            if (response.Content.Headers.ContentLength > MaxResponseBytes)
            {
                return UserInfoResult.Unavailable("response too large");
            }

            await using var body = new BoundedStream(await response.Content.ReadAsStreamAsync(cancellationToken), MaxResponseBytes);
            var (document, problem) = signed
                ? await ReadSignedAsync(body, provider.Configuration!, cancellationToken)
                : (await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken), null);
            if (document is null)
            {
                return UserInfoResult.Unavailable(problem!);
            }

            using (document)
            {
                return FromJson(document.RootElement);
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutRejectedException or JsonException or IOException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return UserInfoResult.Unavailable(ex.GetType().Name);
        }
    }

    /// <summary>The answer's members as claims (a JSON null is no claim), and the object itself for the sign-in's claim actions.</summary>
    private static UserInfoResult FromJson(JsonElement answer)
    {
        if (answer.ValueKind != JsonValueKind.Object)
        {
            return UserInfoResult.Unavailable("not a JSON object");
        }

        var claims = new List<Claim>();
        foreach (var member in answer.EnumerateObject())
        {
            if (member.Value.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
            {
                continue;
            }

            claims.Add(new Claim(member.Name, member.Value.ValueKind == JsonValueKind.String ? member.Value.GetString()! : member.Value.GetRawText()));
        }

        return new UserInfoResult(UserInfoStatus.Read, claims, null) { Json = answer.Clone() };
    }

    /// <summary>
    /// A signed userinfo answer's payload once its signature, algorithm, issuer and audience are checked; else why not (a
    /// phrase or the name of the check that failed, never the answer or its claims: the exception's message may quote them).
    /// </summary>
    private async Task<(JsonDocument? Payload, string? Problem)> ReadSignedAsync(Stream body, OpenIdConnectConfiguration configuration, CancellationToken cancellationToken)
    {
        string answer;
        using (var reader = new StreamReader(body, Encoding.UTF8))
        {
            answer = (await reader.ReadToEndAsync(cancellationToken)).Trim();
        }

        if (answer.Count(c => c == '.') == 4)
        {
            return (null, "an encrypted (JWE) answer, which the gateway cannot decrypt: register the client without userinfo_encrypted_response_alg");
        }

        if (!Handler.CanReadToken(answer))
        {
            return (null, "an application/jwt answer that is not a JWS");
        }

        var settings = options.Value;
        var clientId = settings.ClientId!;
        await signingKeys.EnsureKeyKnownAsync(answer, cancellationToken);
        var parameters = signingKeys.ProviderSignedJwt(configuration, settings.Authority!.TrimEnd('/'), clientId);
        // OpenID Connect Core 5.3.2: iss and aud SHOULD be present; when they are, they must be the provider and this client.
        var issuers = parameters.ValidIssuers.ToArray();
        parameters.IssuerValidator = (issuer, _, _) => string.IsNullOrEmpty(issuer) || issuers.Contains(issuer, StringComparer.Ordinal)
            ? issuer
            : throw new SecurityTokenInvalidIssuerException("The signed userinfo answer names another issuer.");
        parameters.AudienceValidator = (audiences, _, _) => !audiences.Any() || audiences.Contains(clientId, StringComparer.Ordinal);
        if (configuration.UserInfoEndpointSigningAlgValuesSupported is { Count: > 0 } offered)
        {
            parameters.ValidAlgorithms = [.. parameters.ValidAlgorithms.Intersect(offered, StringComparer.Ordinal)];
        }

        var result = await Handler.ValidateTokenAsync(answer, parameters);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken token)
        {
            return (null, $"a signed answer that does not verify ({result.Exception?.GetType().Name ?? "validation failed"})");
        }

        return (JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(token.EncodedPayload)), null);
    }

    /// <summary>Stops reading past a limit, whatever the response's Content-Length said (or did not say).</summary>
    private sealed class BoundedStream(Stream inner, long limit) : Stream
    {
        private long _read;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Count(int read)
        {
            _read += read;
            return _read > limit ? throw new IOException("The userinfo response is too large.") : read;
        }
    }
}
