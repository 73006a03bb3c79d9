using System.Security.Cryptography;
using System.Text;

namespace Bff.Demo.Identity.Account;

internal sealed record DemoUser(string Subject, string UserName, string Name, string Email, string Password);

/// <summary>The demo's users. Their passwords are their user names, which is why this host refuses Production.</summary>
internal sealed class DemoUsers
{
    private readonly Dictionary<string, DemoUser> byUserName;
    private readonly Dictionary<string, DemoUser> bySubject;

    public DemoUsers()
    {
        DemoUser[] users =
        [
            new("d7a3c1e0-alice", "alice", "Alice Smith", "alice@example.org", "alice"),
            new("3f9b2d4a-bob", "bob", "Bob Jones", "bob@example.org", "bob"),
        ];
        byUserName = users.ToDictionary(u => u.UserName, StringComparer.OrdinalIgnoreCase);
        bySubject = users.ToDictionary(u => u.Subject, StringComparer.Ordinal);
    }

    public DemoUser? FindBySubject(string? subject) =>
        subject is not null && bySubject.TryGetValue(subject, out var user) ? user : null;

    public DemoUser? Verify(string? userName, string? password)
    {
        if (userName is null || password is null || !byUserName.TryGetValue(userName.Trim(), out var user))
        {
            return null;
        }

        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(password), Encoding.UTF8.GetBytes(user.Password))
            ? user
            : null;
    }
}
