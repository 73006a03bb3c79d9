using System.Collections.Concurrent;

namespace Bff.DPoP;

/// <summary>
/// The latest <c>DPoP-Nonce</c> each server (by origin: the provider's token endpoint, each API) handed out, so the
/// next proof to it carries it and needs no extra round trip (RFC 9449 §8, §9). Kept in each replica's memory: a
/// replica that has none yet learns it from the server's first "use_dpop_nonce" answer.
/// </summary>
internal sealed class DPoPNonces
{
    /// <summary>Origins come from configuration (provider, clusters); the bound only guards against a surprise.</summary>
    private const int MaxOrigins = 1024;

    private readonly ConcurrentDictionary<string, string> _byOrigin = new(StringComparer.OrdinalIgnoreCase);

    public string? Get(Uri target) => _byOrigin.GetValueOrDefault(Origin(target));

    /// <summary>Remembers the nonce a response carries, if any; true when it differs from the one sent.</summary>
    public bool Remember(Uri target, HttpResponseMessage response, string? sent)
    {
        if (!response.Headers.TryGetValues(DPoPProof.NonceHeaderName, out var values))
        {
            return false;
        }

        var nonce = values.FirstOrDefault();
        if (!IsNonce(nonce))
        {
            return false;
        }

        if (_byOrigin.Count >= MaxOrigins)
        {
            _byOrigin.Clear();
        }

        _byOrigin[Origin(target)] = nonce!;
        return !string.Equals(nonce, sent, StringComparison.Ordinal);
    }

    /// <summary>RFC 9449 §8.1: <c>nonce = 1*NQCHAR</c> (printable ASCII without <c>"</c> and <c>\</c>); bounded in length.</summary>
    internal static bool IsNonce(string? value) =>
        !string.IsNullOrEmpty(value) && value.Length <= 512 && value.All(c => c is >= '\x21' and <= '\x7E' and not '"' and not '\\');

    private static string Origin(Uri target) => target.GetLeftPart(UriPartial.Authority);
}
