namespace Bff.Tests.Infrastructure;

/// <summary>
/// A directory laid out the way the kubelet mounts a Secret: each file is a symlink through <c>..data</c>, which is a
/// symlink to a timestamped directory holding the contents. An update writes a new directory and swaps <c>..data</c>,
/// so the files' paths, and the symlinks' own times, never change: only their content does.
/// </summary>
public sealed class SecretMount : IDisposable
{
    private const string Data = "..data";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "bff-secret-" + Guid.NewGuid().ToString("N"));
    private readonly Dictionary<string, byte[]> _contents = new(StringComparer.Ordinal);
    private int _version;

    public SecretMount(IReadOnlyDictionary<string, string> files)
    {
        Directory.CreateDirectory(_root);
        Update(files);
        foreach (var name in files.Keys)
        {
            File.CreateSymbolicLink(Path.Combine(_root, name), Path.Combine(Data, name));
        }
    }

    /// <summary>The path a setting names: <c>/etc/bff/client/tls.crt</c> in a pod.</summary>
    public string PathOf(string name) => Path.Combine(_root, name);

    /// <summary>Replaces the named files' contents at once (the others keep theirs), as the kubelet applies a Secret update.</summary>
    public void Update(IReadOnlyDictionary<string, string> files)
    {
        foreach (var (name, content) in files)
        {
            _contents[name] = System.Text.Encoding.ASCII.GetBytes(content);
        }

        var version = $"..{DateTime.UtcNow:yyyy_MM_dd_HH_mm_ss}.{++_version}";
        Directory.CreateDirectory(Path.Combine(_root, version));
        foreach (var (name, content) in _contents)
        {
            File.WriteAllBytes(Path.Combine(_root, version, name), content);
        }

        var data = Path.Combine(_root, Data);
        if (Path.Exists(data))
        {
            File.Delete(data); // Removes the link only.
        }

        Directory.CreateSymbolicLink(data, version);
    }

    public void Update(string name, string content) => Update(new Dictionary<string, string> { [name] = content });

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
