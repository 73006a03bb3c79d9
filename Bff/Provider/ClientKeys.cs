using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Bff.Configuration;
using Bff.Observability;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Bff.Provider;

/// <summary>The kind of a signing key, which decides the JWS algorithms it can sign with.</summary>
internal enum ClientKeyKind
{
    Rsa,
    EcP256,
}

/// <summary>One usable signing key: the private key, its <c>kid</c>, and its certificate when it came with one.</summary>
internal sealed record ClientSigningKey(AsymmetricSecurityKey Key, string KeyId, ClientKeyKind Kind, X509Certificate2? Certificate)
{
    /// <summary>The algorithms this key can sign with, the gateway's preference first.</summary>
    public IReadOnlyList<string> Algorithms => Kind == ClientKeyKind.Rsa
        ? [SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSha256]
        : [SecurityAlgorithms.EcdsaSha256];

    /// <summary>The algorithm published with the key and used when the provider names none it supports.</summary>
    public string DefaultAlgorithm => Kind == ClientKeyKind.Rsa ? SecurityAlgorithms.RsaSha256 : SecurityAlgorithms.EcdsaSha256;
}

/// <summary>
/// What <see cref="ClientKeyLoader"/> read: the keys and certificate, or one line per problem (naming the key, never
/// its content), and the <see cref="ClientKeyFiles.Fingerprint"/> of the files they came from.
/// </summary>
internal sealed record LoadedClientCredentials(IReadOnlyList<ClientSigningKey> Keys, X509Certificate2? Certificate, IReadOnlyList<string> Problems, string Fingerprint)
{
    /// <summary>The key that signs client assertions (the first), if any.</summary>
    public ClientSigningKey? SigningKey => Keys.Count > 0 ? Keys[0] : null;
}

/// <summary>
/// The contents of every file <c>Bff:ClientAuthentication</c> names, each read once, and a SHA-256 fingerprint of them
/// all (path, then content or why it could not be read). Comparing fingerprints, not timestamps, is what notices a
/// Kubernetes Secret update: the kubelet swaps a <c>..data</c> symlink, which leaves the paths' own times alone.
/// </summary>
internal sealed class ClientKeyFiles
{
    private readonly Dictionary<string, (byte[] Bytes, Exception? Error)> _files = new(StringComparer.Ordinal);

    private ClientKeyFiles()
    {
    }

    /// <summary>Changes whenever any of the files changes, appears or disappears.</summary>
    public string Fingerprint { get; private set; } = string.Empty;

    /// <summary>Every file path the settings name: the keys' <c>Path</c>, and the certificate's files with the TLS methods.</summary>
    public static IEnumerable<string> Paths(ClientAuthenticationSettings settings)
    {
        foreach (var entry in settings.Keys)
        {
            if (!string.IsNullOrWhiteSpace(entry?.Path))
            {
                yield return entry.Path;
            }
        }

        if (settings.UsesCertificate && !string.IsNullOrWhiteSpace(settings.Certificate.Path))
        {
            yield return settings.Certificate.Path;
            if (!string.IsNullOrWhiteSpace(settings.Certificate.KeyPath))
            {
                yield return settings.Certificate.KeyPath;
            }
        }
    }

    public static ClientKeyFiles Read(ClientAuthenticationSettings settings)
    {
        var files = new ClientKeyFiles();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var path in Paths(settings).Distinct(StringComparer.Ordinal))
        {
            var (bytes, error) = files.Get(path);
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(path));
            hash.AppendData(error is null ? [1] : [2]);
            hash.AppendData(error is null ? SHA256.HashData(bytes) : System.Text.Encoding.UTF8.GetBytes(error.GetType().Name));
        }

        files.Fingerprint = Convert.ToHexString(hash.GetHashAndReset());
        return files;
    }

    /// <summary>The file's bytes as read for the fingerprint (read now if it was not among them), or why it cannot be read.</summary>
    public (byte[] Bytes, Exception? Error) Get(string path)
    {
        if (!_files.TryGetValue(path, out var file))
        {
            try
            {
                file = (File.ReadAllBytes(path), null);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                file = ([], ex);
            }

            _files[path] = file;
        }

        return file;
    }
}

/// <summary>
/// Reads the keys and the TLS certificate of <c>Bff:ClientAuthentication</c> from files or PEM text and refuses what
/// cannot serve: unreadable, a certificate without its private key, an expired certificate, RSA under 2048 bits, an
/// elliptic curve other than P-256. Problems name the setting and never echo the material or a crypto exception's text.
/// </summary>
internal static class ClientKeyLoader
{
    private const string Section = "Bff:ClientAuthentication";
    private const int MinimumRsaBits = 2048;

    public static LoadedClientCredentials Load(ClientAuthenticationSettings settings, DateTimeOffset now) =>
        Load(settings, now, ClientKeyFiles.Read(settings));

    /// <summary>Reads the keys and certificate from <paramref name="files"/> (what the fingerprint was taken of) and the settings' PEM text.</summary>
    public static LoadedClientCredentials Load(ClientAuthenticationSettings settings, DateTimeOffset now, ClientKeyFiles files)
    {
        var problems = new List<string>();
        var keys = new List<ClientSigningKey>();
        for (var i = 0; i < settings.Keys.Count; i++)
        {
            var entry = settings.Keys[i];
            var hasPath = !string.IsNullOrWhiteSpace(entry?.Path);
            if (entry is null || hasPath == !string.IsNullOrWhiteSpace(entry.Pem))
            {
                continue; // Reported by BffOptionsValidator.
            }

            var name = $"{Section}:Keys:{i}:" + (hasPath ? "Path" : "Pem");
            if (LoadKey(entry, name, now, files, problems) is { } key)
            {
                keys.Add(key);
            }
        }

        foreach (var duplicate in keys.GroupBy(k => k.KeyId, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            problems.Add($"{Section}:Keys: two keys have the key id '{duplicate.Key}'; give each its own KeyId, or leave KeyId out to use each key's thumbprint.");
        }

        X509Certificate2? certificate = null;
        if (settings.UsesCertificate && !string.IsNullOrWhiteSpace(settings.Certificate.Path))
        {
            certificate = LoadCertificate(settings.Certificate, now, files, problems);
        }

        return new LoadedClientCredentials(keys, certificate, problems, files.Fingerprint);
    }

    private static ClientSigningKey? LoadKey(ClientKeySettings entry, string name, DateTimeOffset now, ClientKeyFiles files, List<string> problems)
    {
        X509Certificate2? certificate = null;
        AsymmetricAlgorithm? algorithm;
        if (!string.IsNullOrWhiteSpace(entry.Path))
        {
            if (!TryReadFile(files, entry.Path, name, problems, out var bytes))
            {
                return null;
            }

            if (LooksLikePem(bytes))
            {
                algorithm = FromPem(System.Text.Encoding.UTF8.GetString(bytes), entry.Password, name, problems, out certificate);
            }
            else
            {
                certificate = FromPkcs12(bytes, entry.Password, name, problems);
                algorithm = certificate is null ? null : PrivateKeyOf(certificate, name, problems);
            }
        }
        else
        {
            algorithm = FromPem(entry.Pem!, entry.Password, name, problems, out certificate);
        }

        if (algorithm is null)
        {
            return null;
        }

        if (certificate is not null && !CertificateIsCurrent(certificate, name, now, problems))
        {
            return null;
        }

        AsymmetricSecurityKey key;
        ClientKeyKind kind;
        switch (algorithm)
        {
            case RSA rsa when rsa.KeySize < MinimumRsaBits:
                problems.Add($"{name} holds an RSA key of {rsa.KeySize} bits; at least {MinimumRsaBits} are required.");
                return null;
            case RSA rsa:
                key = new RsaSecurityKey(rsa);
                kind = ClientKeyKind.Rsa;
                break;
            case ECDsa ec when IsP256(ec):
                key = new ECDsaSecurityKey(ec);
                kind = ClientKeyKind.EcP256;
                break;
            case ECDsa:
                problems.Add($"{name} holds an elliptic-curve key on a curve other than P-256; use P-256 (ES256) or an RSA key of at least {MinimumRsaBits} bits.");
                return null;
            default:
                problems.Add($"{name} holds a key that is neither RSA nor elliptic-curve P-256.");
                return null;
        }

        var keyId = string.IsNullOrWhiteSpace(entry.KeyId) ? Thumbprint(key) : entry.KeyId.Trim();
        key.KeyId = keyId;
        return new ClientSigningKey(key, keyId, kind, certificate);
    }

    private static X509Certificate2? LoadCertificate(ClientCertificateSettings settings, DateTimeOffset now, ClientKeyFiles files, List<string> problems)
    {
        var name = $"{Section}:Certificate:Path";
        if (!TryReadFile(files, settings.Path!, name, problems, out var bytes))
        {
            return null;
        }

        X509Certificate2? certificate;
        if (!LooksLikePem(bytes))
        {
            certificate = FromPkcs12(bytes, settings.Password, name, problems);
        }
        else
        {
            var certificatePem = System.Text.Encoding.UTF8.GetString(bytes);
            var keyPem = certificatePem;
            if (!string.IsNullOrWhiteSpace(settings.KeyPath))
            {
                if (!TryReadFile(files, settings.KeyPath, $"{Section}:Certificate:KeyPath", problems, out var keyBytes))
                {
                    return null;
                }

                keyPem = System.Text.Encoding.UTF8.GetString(keyBytes);
            }

            if (!PemLabels(keyPem).Any(l => l.EndsWith("PRIVATE KEY", StringComparison.Ordinal)))
            {
                problems.Add($"{name} holds a certificate without its private key: add the key to the file, or name it in {Section}:Certificate:KeyPath.");
                return null;
            }

            certificate = CertificateFromPem(certificatePem, keyPem, settings.Password, name, problems);
        }

        if (certificate is null)
        {
            return null;
        }

        if (!certificate.HasPrivateKey)
        {
            problems.Add($"{name} holds a certificate without its private key: add the key to the file, or name it in {Section}:Certificate:KeyPath.");
            return null;
        }

        return CertificateIsCurrent(certificate, name, now, problems) ? certificate : null;
    }

    private static bool TryReadFile(ClientKeyFiles files, string path, string name, List<string> problems, out byte[] bytes)
    {
        (bytes, var error) = files.Get(path);
        if (error is null)
        {
            return true;
        }

        // The path is the operator's own setting, not secret; the exception type says whether it is missing or unreadable.
        problems.Add($"{name} names '{path}', which cannot be read ({(error is FileNotFoundException or DirectoryNotFoundException ? "no such file" : error.GetType().Name)}).");
        return false;
    }

    private static bool LooksLikePem(byte[] bytes) =>
        System.Text.Encoding.ASCII.GetString(bytes, 0, Math.Min(bytes.Length, 4096)).Contains("-----BEGIN ", StringComparison.Ordinal);

    /// <summary>A private key from PEM text, with the certificate that came with it (if any).</summary>
    private static AsymmetricAlgorithm? FromPem(string pem, string? password, string name, List<string> problems, out X509Certificate2? certificate)
    {
        certificate = null;
        var labels = PemLabels(pem);
        var keyLabel = labels.FirstOrDefault(l => l.EndsWith("PRIVATE KEY", StringComparison.Ordinal));
        if (keyLabel is null)
        {
            problems.Add(labels.Contains("CERTIFICATE")
                ? $"{name} holds a certificate without its private key; the gateway needs the private key to sign."
                : $"{name} holds no PEM private key (expected a 'PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY' or 'ENCRYPTED PRIVATE KEY' block).");
            return null;
        }

        if (labels.Contains("CERTIFICATE"))
        {
            certificate = CertificateFromPem(pem, pem, password, name, problems);
            return certificate is null ? null : PrivateKeyOf(certificate, name, problems);
        }

        var encrypted = keyLabel == "ENCRYPTED PRIVATE KEY";
        if (encrypted && string.IsNullOrEmpty(password))
        {
            problems.Add($"{name} holds an encrypted private key, but no Password is set for it.");
            return null;
        }

        // A PKCS#8 key says its algorithm inside; trying RSA, then EC, reads every label the same way.
        foreach (var create in new Func<AsymmetricAlgorithm>[] { RSA.Create, () => ECDsa.Create() })
        {
            var algorithm = create();
            try
            {
                if (encrypted)
                {
                    algorithm.ImportFromEncryptedPem(pem, password);
                }
                else
                {
                    algorithm.ImportFromPem(pem);
                }

                return algorithm;
            }
            catch (Exception ex) when (ex is CryptographicException or ArgumentException)
            {
                algorithm.Dispose();
            }
        }

        problems.Add(encrypted
            ? $"{name} holds an encrypted private key that cannot be read with the Password given (wrong password, or not an RSA or EC key)."
            : $"{name} holds a private key that cannot be read as an RSA or EC key.");
        return null;
    }

    private static X509Certificate2? CertificateFromPem(string certificatePem, string keyPem, string? password, string name, List<string> problems)
    {
        try
        {
            using var withKey = string.IsNullOrEmpty(password)
                ? X509Certificate2.CreateFromPem(certificatePem, keyPem)
                : X509Certificate2.CreateFromEncryptedPem(certificatePem, keyPem, password);
            // An ephemeral key in a PKCS#12 round trip works for TLS on every platform, not only with OpenSSL.
            return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.EphemeralKeySet);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            problems.Add($"{name}: the certificate and private key cannot be read together (a key that does not match the certificate, a wrong Password, or a malformed PEM block).");
            return null;
        }
    }

    private static X509Certificate2? FromPkcs12(byte[] bytes, string? password, string name, List<string> problems)
    {
        try
        {
            return X509CertificateLoader.LoadPkcs12(bytes, password, X509KeyStorageFlags.EphemeralKeySet);
        }
        catch (CryptographicException)
        {
            problems.Add($"{name} is neither PEM nor a PKCS#12 file that opens with the Password given.");
            return null;
        }
    }

    private static AsymmetricAlgorithm? PrivateKeyOf(X509Certificate2 certificate, string name, List<string> problems)
    {
        AsymmetricAlgorithm? key = certificate.GetRSAPrivateKey();
        key ??= certificate.GetECDsaPrivateKey();
        if (key is null)
        {
            problems.Add(certificate.HasPrivateKey
                ? $"{name} holds a certificate whose private key is neither RSA nor EC."
                : $"{name} holds a certificate without its private key; the gateway needs the private key to sign.");
        }

        return key;
    }

    private static bool CertificateIsCurrent(X509Certificate2 certificate, string name, DateTimeOffset now, List<string> problems)
    {
        if (certificate.NotAfter.ToUniversalTime() <= now.UtcDateTime)
        {
            problems.Add($"{name} holds a certificate that expired on {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm} UTC (subject {certificate.Subject}); renew it.");
            return false;
        }

        return true;
    }

    private static List<string> PemLabels(string pem)
    {
        var labels = new List<string>();
        var rest = pem.AsSpan();
        while (PemEncoding.TryFind(rest, out var fields))
        {
            labels.Add(rest[fields.Label].ToString());
            rest = rest[fields.Location.End..];
        }

        return labels;
    }

    private static bool IsP256(ECDsa ec)
    {
        var curve = ec.ExportParameters(false).Curve;
        return curve.IsNamed && (curve.Oid.Value == ECCurve.NamedCurves.nistP256.Oid.Value
            || string.Equals(curve.Oid.FriendlyName, "nistP256", StringComparison.OrdinalIgnoreCase)
            || string.Equals(curve.Oid.FriendlyName, "ECDSA_P256", StringComparison.OrdinalIgnoreCase));
    }

    private static string Thumbprint(AsymmetricSecurityKey key) =>
        Base64UrlEncoder.Encode(JsonWebKeyConverter.ConvertFromSecurityKey(key).ComputeJwkThumbprint());
}

/// <summary>
/// The client's keys and certificate in use, read from the validated settings at first use. Start-up validation
/// (<see cref="ClientCredentialsValidator"/>) has already refused any that cannot serve. Files named by a <c>Path</c>
/// setting are read again every <see cref="CheckInterval"/> (a <see cref="TimeProvider"/> timer, so an idle gateway
/// notices a renewed certificate too) and compared by content: a changed set is checked by the start-up rules and
/// replaces the one in use as a whole, or, if any of it cannot serve (a half-written Secret, a key that does not match
/// its certificate yet), is not used at all and the set in use stays. PEM text in the settings never changes.
/// </summary>
internal sealed class ClientCredentials(
    IOptions<BffOptions> options, TimeProvider timeProvider, ILogger<ClientCredentials> logger) : IDisposable
{
    /// <summary>How often the files are read again; the kubelet itself takes up to a minute or two to update a mounted Secret.</summary>
    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(30);

    private readonly Lock _gate = new();
    private volatile LoadedClientCredentials? _current;

    /// <summary>The fingerprint of the last files refused, so one bad set is reported once, not every check.</summary>
    private string? _refused;

    private ITimer? _timer;
    private bool _disposed;

    /// <summary>One consistent set: read it once per use (an assertion, a JWKS answer, a TLS handshake).</summary>
    public LoadedClientCredentials Current => _current ?? Initialize();

    /// <summary>Every configured key; the first signs, all are published.</summary>
    public IReadOnlyList<ClientSigningKey> Keys => Current.Keys;

    /// <summary>The key that signs client assertions, if any.</summary>
    public ClientSigningKey? SigningKey => Current.SigningKey;

    /// <summary>The TLS client certificate, with the TLS methods.</summary>
    public X509Certificate2? Certificate => Current.Certificate;

    /// <summary>
    /// Reads the files again and takes a changed, valid set into use (the timer calls this). A check already under way
    /// makes this one a no-op. Never throws: it runs on a timer.
    /// </summary>
    public void CheckFiles()
    {
        if (_current is not { } current || !_gate.TryEnter())
        {
            return;
        }

        try
        {
            var settings = options.Value.ClientAuthentication;
            var files = ClientKeyFiles.Read(settings);
            if (files.Fingerprint == current.Fingerprint)
            {
                _refused = null; // Back to what is in use: a bad update seen again later is reported again.
                return;
            }

            if (files.Fingerprint == _refused)
            {
                return;
            }

            var loaded = ClientKeyLoader.Load(settings, timeProvider.GetUtcNow(), files);
            if (loaded.Problems.Count > 0)
            {
                _refused = files.Fingerprint;
                BffLog.ClientCredentialsRefused(logger, string.Join(" ", loaded.Problems), CheckInterval);
                return;
            }

            _refused = null;
            _current = loaded;
            LogInUse(loaded);
        }
        catch (Exception ex)
        {
            BffLog.ClientCredentialsCheckFailed(logger, ex.GetType().Name, CheckInterval);
        }
        finally
        {
            _gate.Exit();
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _timer?.Dispose();
        }
    }

    private LoadedClientCredentials Initialize()
    {
        lock (_gate)
        {
            if (_current is { } current)
            {
                return current;
            }

            var settings = options.Value.ClientAuthentication;
            var loaded = ClientKeyLoader.Load(settings, timeProvider.GetUtcNow());
            if (loaded.Problems.Count > 0)
            {
                // Start-up validation passed, so a file changed since; what could be read serves until the next check.
                _refused = loaded.Fingerprint;
                BffLog.ClientCredentialsRefused(logger, string.Join(" ", loaded.Problems), CheckInterval);
            }

            _current = loaded;
            if (!_disposed && ClientKeyFiles.Paths(settings).Any())
            {
                _timer = timeProvider.CreateTimer(_ => CheckFiles(), null, CheckInterval, CheckInterval);
            }

            return loaded;
        }
    }

    private void LogInUse(LoadedClientCredentials loaded) =>
        BffLog.ClientCredentialsTakenIntoUse(
            logger,
            loaded.SigningKey?.KeyId ?? "(none)",
            loaded.Keys.Count == 0 ? "(none)" : string.Join(", ", loaded.Keys.Select(k => k.KeyId)),
            loaded.Certificate?.Thumbprint ?? "(none)",
            loaded.Certificate?.NotAfter.ToUniversalTime().ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture) ?? "(none)");
}

/// <summary>Stops start-up when a configured key or certificate cannot serve, naming the setting.</summary>
internal sealed class ClientCredentialsValidator(TimeProvider timeProvider) : IValidateOptions<BffOptions>
{
    public ValidateOptionsResult Validate(string? name, BffOptions options)
    {
        var settings = options.ClientAuthentication;
        if (!Enum.IsDefined(settings.Method))
        {
            return ValidateOptionsResult.Skip;
        }

        var loaded = ClientKeyLoader.Load(settings, timeProvider.GetUtcNow());
        return loaded.Problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(loaded.Problems);
    }
}
