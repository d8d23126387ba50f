using System.Text.RegularExpressions;
using System.Xml.Linq;
using Omnivec.Tests;

namespace Omnivec.Packaging.Tests;

/// <summary>The repository's LICENSE and the packages' licence expression say the same thing.</summary>
public sealed class LicenseTests
{
    [Fact]
    public void The_license_file_is_the_MIT_license_the_packages_declare()
    {
        string license = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "LICENSE"));
        XElement props = XElement.Load(Path.Combine(TestPaths.RepoRoot, "Directory.Build.props"));
        string expression = props.Descendants().Single(e => e.Name.LocalName == "PackageLicenseExpression").Value;

        Assert.Equal("MIT", expression);
        Assert.StartsWith("MIT License", license, StringComparison.Ordinal);
        Assert.Matches(new Regex(@"^Copyright \(c\) \d{4} \S", RegexOptions.Multiline), license);
        // The operative text of the MIT licence (https://opensource.org/license/mit), word for word.
        Assert.Contains("Permission is hereby granted, free of charge, to any person obtaining a copy", license, StringComparison.Ordinal);
        Assert.Contains("THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND", license, StringComparison.Ordinal);
    }
}
