namespace Bff.Sessions;

/// <summary>
/// "Firefox on Windows": what a list of a user's sessions says about the browser that signed in. Only a browser family
/// and an operating system family, each from a fixed vocabulary: never the raw <c>User-Agent</c> (its versions and
/// build strings narrow a user down and may be anything a client chose to send), never an address.
/// </summary>
internal static class DeviceDescription
{
    /// <summary>Longer headers are not read: a real one is a few hundred characters.</summary>
    private const int MaxLength = 1024;

    // Order matters: Edge and Opera also say Chrome, Chrome also says Safari, Android also says Linux.
    private static readonly (string Token, string Name)[] Browsers =
    [
        ("Edg/", "Edge"), ("EdgA/", "Edge"), ("EdgiOS/", "Edge"), ("OPR/", "Opera"), ("SamsungBrowser/", "Samsung Internet"),
        ("Firefox/", "Firefox"), ("FxiOS/", "Firefox"), ("CriOS/", "Chrome"), ("Chrome/", "Chrome"), ("Chromium/", "Chromium"),
        ("Safari/", "Safari"),
    ];

    private static readonly (string Token, string Name)[] Systems =
    [
        ("Windows", "Windows"), ("iPhone", "iOS"), ("iPad", "iPadOS"), ("Android", "Android"), ("CrOS", "ChromeOS"),
        ("Mac OS X", "macOS"), ("Macintosh", "macOS"), ("Linux", "Linux"),
    ];

    /// <summary>A description from a <c>User-Agent</c> header, or null when it names neither a known browser nor a known system.</summary>
    public static string? From(string? userAgent)
    {
        if (string.IsNullOrEmpty(userAgent) || userAgent.Length > MaxLength)
        {
            return null;
        }

        var browser = Find(Browsers, userAgent);
        var system = Find(Systems, userAgent);
        return (browser, system) switch
        {
            (null, null) => null,
            (_, null) => browser,
            (null, _) => "Browser on " + system,
            _ => browser + " on " + system,
        };
    }

    private static string? Find((string Token, string Name)[] names, string userAgent)
    {
        foreach (var (token, name) in names)
        {
            if (userAgent.Contains(token, StringComparison.Ordinal))
            {
                return name;
            }
        }

        return null;
    }
}
