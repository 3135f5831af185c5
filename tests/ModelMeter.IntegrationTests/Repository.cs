namespace ModelMeter.IntegrationTests;

/// <summary>Paths in the repository the tests run from.</summary>
internal static class Repository
{
    public static readonly string Root = FindRoot();

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "ModelMeter.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No ModelMeter.slnx above {AppContext.BaseDirectory}.");
    }
}
