using System.Text.Json;
using Microsoft.Extensions.Options;
using Bff.Configuration;

namespace Bff.DPoP;

/// <summary>
/// Adds a DPoP proof to every token request (a form POST with <c>grant_type</c>: code exchange, refresh, client
/// credentials) and pushed authorization request (with <c>response_type</c>: RFC 9449 §10.1 binds the code to the key)
/// on the provider's HttpClients, inside their resilience pipeline, so that every attempt carries a fresh proof.
/// <para>
/// A provider that answers <c>use_dpop_nonce</c> with a new <c>DPoP-Nonce</c> gets the request once more with it. That
/// is safe for a refresh token and an authorization code: the error means the provider did not act on the grant
/// (RFC 9449 §8). A client assertion in the body is replaced by a fresh one (<see cref="IClientAssertionRenewal"/>),
/// never sent twice; when none can be made, the error is passed on.
/// </para>
/// </summary>
internal sealed class DPoPTokenRequestHandler(
    DPoPKeys keys,
    DPoPNonces nonces,
    IOptions<BffOptions> options,
    TimeProvider timeProvider,
    IServiceProvider services,
    ILogger<DPoPTokenRequestHandler> logger) : DelegatingHandler
{
    /// <summary>The thumbprint of the key a token request proved possession of.</summary>
    public static readonly HttpRequestOptionsKey<string> ProvedKey = new("Bff.DPoP.ProvedKey");

    /// <summary>Set on a token request that must not carry a proof (a bearer token is wanted).</summary>
    public static readonly HttpRequestOptionsKey<bool> WithoutProof = new("Bff.DPoP.WithoutProof");

    private const string ClientAssertion = "client_assertion";

    /// <summary>
    /// The thumbprint a token response's tokens are bound to: the proved key's, when the provider answered
    /// <c>token_type=DPoP</c>; null for a bearer token or a request sent without a proof.
    /// </summary>
    public static string? BoundThumbprint(HttpResponseMessage? response, string? tokenType) =>
        string.Equals(tokenType, "DPoP", StringComparison.OrdinalIgnoreCase)
        && response?.RequestMessage?.Options.TryGetValue(ProvedKey, out var thumbprint) == true
            ? thumbprint
            : null;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!options.Value.DPoP.Enabled || request.Method != HttpMethod.Post || request.RequestUri is not { } target
            || (request.Options.TryGetValue(WithoutProof, out var bearer) && bearer)
            || request.Content?.Headers.ContentType?.MediaType is not "application/x-www-form-urlencoded")
        {
            return await base.SendAsync(request, cancellationToken);
        }

        var body = await request.Content.ReadAsStringAsync(cancellationToken);
        if (!HasParameter(body, "grant_type") && !HasParameter(body, "response_type"))
        {
            return await base.SendAsync(request, cancellationToken);
        }

        var key = await keys.GetCurrentAsync(cancellationToken);
        var nonce = nonces.Get(target);
        Prove(request, key, target, nonce);
        var response = await base.SendAsync(request, cancellationToken);
        if (!nonces.Remember(target, response, nonce) || response.StatusCode is not (System.Net.HttpStatusCode.BadRequest or System.Net.HttpStatusCode.Unauthorized)
            || !await AsksForNonceAsync(response, cancellationToken))
        {
            return response;
        }

        var endpoint = target.GetLeftPart(UriPartial.Path);
        if (HasParameter(body, ClientAssertion))
        {
            var assertion = services.GetService<IClientAssertionRenewal>() is { } renewal
                ? await renewal.CreateAsync(target, cancellationToken)
                : null;
            if (assertion is null)
            {
                DPoPLog.TokenEndpointNonceNotRetried(logger, endpoint);
                return response;
            }

            body = ReplaceParameter(body, ClientAssertion, assertion);
        }

        DPoPLog.TokenEndpointNonceRetry(logger, endpoint);
        using var retry = Copy(request, body);
        Prove(retry, key, target, nonces.Get(target));
        response.Dispose();
        var second = await base.SendAsync(retry, cancellationToken);
        nonces.Remember(target, second, sent: null);
        return second;
    }

    private void Prove(HttpRequestMessage request, DPoPKey key, Uri target, string? nonce)
    {
        request.Headers.Remove(DPoPProof.HeaderName);
        request.Headers.TryAddWithoutValidation(DPoPProof.HeaderName, DPoPProof.Create(key, "POST", target, timeProvider.GetUtcNow(), nonce: nonce));
        request.Options.Set(ProvedKey, key.Thumbprint);
    }

    /// <summary>The token endpoint's <c>{"error":"use_dpop_nonce"}</c> (RFC 9449 §8), or a 401's <c>WWW-Authenticate</c> saying so.</summary>
    private static async Task<bool> AsksForNonceAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        foreach (var challenge in response.Headers.WwwAuthenticate)
        {
            if (challenge.Parameter?.Contains(DPoPProof.UseNonceError, StringComparison.Ordinal) == true)
            {
                return true;
            }
        }

        if (response.Content.Headers.ContentType?.MediaType is not "application/json")
        {
            return false;
        }

        try
        {
            // Buffered by the read, so the caller still reads the body when the answer is passed on.
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            using var json = JsonDocument.Parse(text);
            return json.RootElement.ValueKind == JsonValueKind.Object
                && json.RootElement.TryGetProperty("error", out var error)
                && error.ValueKind == JsonValueKind.String
                && error.ValueEquals(DPoPProof.UseNonceError);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static HttpRequestMessage Copy(HttpRequestMessage request, string body)
    {
        var copy = new HttpRequestMessage(request.Method, request.RequestUri)
        {
            Version = request.Version,
            VersionPolicy = request.VersionPolicy,
            Content = new StringContent(body, System.Text.Encoding.UTF8),
        };
        copy.Content.Headers.ContentType = request.Content!.Headers.ContentType;
        foreach (var (name, values) in request.Headers)
        {
            copy.Headers.TryAddWithoutValidation(name, values);
        }

        foreach (var (name, value) in request.Options)
        {
            ((IDictionary<string, object?>)copy.Options)[name] = value;
        }

        return copy;
    }

    internal static bool HasParameter(string form, string name) => FindParameter(form, name).Start >= 0;

    /// <summary>Replaces one parameter's value in a form body, leaving every other byte as it was.</summary>
    internal static string ReplaceParameter(string form, string name, string value)
    {
        var (start, end) = FindParameter(form, name);
        return start < 0 ? form : string.Concat(form.AsSpan(0, start), $"{name}={Uri.EscapeDataString(value)}", form.AsSpan(end));
    }

    private static (int Start, int End) FindParameter(string form, string name)
    {
        var start = 0;
        while (start < form.Length)
        {
            var end = form.IndexOf('&', start);
            if (end < 0)
            {
                end = form.Length;
            }

            var pair = form.AsSpan(start, end - start);
            var equals = pair.IndexOf('=');
            var pairName = equals < 0 ? pair : pair[..equals];
            if (pairName.SequenceEqual(name))
            {
                return (start, end);
            }

            start = end + 1;
        }

        return (-1, -1);
    }
}
