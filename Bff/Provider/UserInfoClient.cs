using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text.Json;
using Bff.DPoP;
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

    /// <summary>The response's JSON object, for the OpenID Connect handler's claim actions at sign-in; undefined when not read.</summary>
    public JsonElement Json { get; init; }

    public static UserInfoResult Unavailable(string problem) => new(UserInfoStatus.Unavailable, [], problem);
}

/// <summary>
/// Reads the provider's userinfo endpoint (from discovery) with an access token, as the OpenID Connect handler does at
/// sign-in: a JSON object whose members become claims (strings as they are, other values as their JSON text, which
/// the session turns into one claim per array element). A signed or encrypted (JWT) response is not read.
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
    ILogger<UserInfoClient> logger)
{
    private const int MaxResponseBytes = 256 * 1024;

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
            using var response = await httpClientFactory.CreateClient(ProviderHttp.RetryingClientName)
                .SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return UserInfoResult.Unavailable($"HTTP {(int)response.StatusCode}");
            }

            if (response.Content.Headers.ContentType?.MediaType is not { } mediaType
                || !(mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase)))
            {
                return UserInfoResult.Unavailable("not a JSON response");
            }

            if (response.Content.Headers.ContentLength > MaxResponseBytes)
            {
                return UserInfoResult.Unavailable("response too large");
            }

            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            using var document = await JsonDocument.ParseAsync(new BoundedStream(body, MaxResponseBytes), cancellationToken: cancellationToken);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return UserInfoResult.Unavailable("not a JSON object");
            }

            var claims = new List<Claim>();
            foreach (var member in document.RootElement.EnumerateObject())
            {
                if (member.Value.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
                {
                    continue;
                }

                claims.Add(new Claim(member.Name, member.Value.ValueKind == JsonValueKind.String ? member.Value.GetString()! : member.Value.GetRawText()));
            }

            return new UserInfoResult(UserInfoStatus.Read, claims, null) { Json = document.RootElement.Clone() };
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutRejectedException or JsonException or IOException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return UserInfoResult.Unavailable(ex.GetType().Name);
        }
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
