using Bff;

return BffStartup.Run(
    args,
    static builder => builder.AddBff(),
    static app =>
    {
        app.UseBff();
        app.MapBff();
    });

/// <summary>Entry point marker for the test host.</summary>
public partial class Program;
