using System;
using System.IO;
using System.Linq;
using NeuralSurgery.Cli.Infrastructure;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Execution;

namespace NeuralSurgery.Cli.Tests;

public sealed class GeneralTests
{
    [Fact]
    public void Version_prints_the_informational_version()
    {
        var result = CliHarness.Run("--version");
        CliHarness.AssertOk(result);
        Assert.Equal(Program.Version, result.Out.Trim());
        Assert.StartsWith("0.1.0", result.Out);
    }

    [Fact]
    public void Help_lists_every_command_under_the_tool_name()
    {
        var result = CliHarness.Run("--help");
        CliHarness.AssertOk(result);
        Assert.Contains("surgery [command] [options]", result.Out);
        foreach (var command in new[] { "inspect", "schema", "plan", "apply", "convert", "diff" })
        {
            Assert.Contains(command, result.Out);
        }
    }

    /// <summary>Design notes that are not in the repository: the docs and the tool's help must stand alone.</summary>
    private static readonly string[] MissingDocuments = ["DESIGN.md", "TORCHSHARP.md", "STYLE.md"];

    [Fact]
    public void Docs_readmes_and_help_cite_no_document_missing_from_the_repository()
    {
        var root = RepositoryRoot();
        var files = Directory.EnumerateFiles(Path.Combine(root, "docs"), "*.md", SearchOption.AllDirectories)
            .Concat(Directory.EnumerateFiles(Path.Combine(root, "src"), "README.md", SearchOption.AllDirectories))
            .Append(Path.Combine(root, "README.md"))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToList();
        Assert.Contains(files, f => f.EndsWith("runtime.md", StringComparison.Ordinal));
        var texts = files.Select(f => (Name: Path.GetRelativePath(root, f), Text: File.ReadAllText(f))).ToList();

        // Every command's help as a user sees it.
        foreach (var command in new[] { "", "inspect", "schema", "schema check", "graph", "plan", "apply", "convert", "diff", "patch", "patch create", "patch apply", "tune", "verify" })
        {
            var help = CliHarness.Run([.. command.Split(' ', StringSplitOptions.RemoveEmptyEntries), "--help"]);
            CliHarness.AssertOk(help);
            texts.Add(($"surgery {command} --help", help.Out));
        }

        var cited = texts.SelectMany(t => MissingDocuments.Where(d => t.Text.Contains(d, StringComparison.Ordinal)).Select(d => $"{t.Name} cites {d}")).ToList();
        Assert.True(cited.Count == 0, string.Join("\n", cited));
    }

    [Fact]
    public void Redirected_output_holds_no_escape_codes_and_no_progress_lines()
    {
        using var h = new CliHarness();
        var dict = new StateDict();
        dict.Add("fc.weight", new float[6], 2, 3);
        var a = h.PathOf("a.safetensors");
        dict.Save(a);
        var b = h.PathOf("b.bin");

        // The built tool as its own process, stdout redirected: plain text, the result and nothing else.
        var result = CliHarness.Exec(null, "convert", a, b);
        CliHarness.AssertOk(result);
        Assert.DoesNotContain('\u001b', result.Out);
        Assert.DoesNotContain("%)", result.Out, StringComparison.Ordinal);
        Assert.Single(result.OutLines);
        var diff = CliHarness.Exec(null, "diff", a, b);
        CliHarness.AssertOk(diff);
        Assert.DoesNotContain('\u001b', diff.Out);
        Assert.StartsWith("| tensor", diff.OutLines[2], StringComparison.Ordinal);
    }

    [Fact]
    public void The_readme_quickstart_schema_builds_the_sample_model_it_documents()
    {
        // The YAML block of quickstart step 2, as a user copies it, against samples/PolicyEvolution's PolicyV2.
        var root = RepositoryRoot();
        var readme = File.ReadAllText(Path.Combine(root, "README.md")).ReplaceLineEndings("\n");
        var step = readme.IndexOf("2. Write a schema per model version", StringComparison.Ordinal);
        Assert.True(step >= 0, "README.md has no quickstart step 2");
        var start = readme.IndexOf("```yaml\n", step, StringComparison.Ordinal) + "```yaml\n".Length;
        var end = readme.IndexOf("```", start, StringComparison.Ordinal);
        var yaml = string.Join("\n", readme[start..end].Split('\n').Select(line => line.Trim().Length == 0 ? "" : line[3..]));
        Assert.Contains("version: 2", yaml, StringComparison.Ordinal);

        using var h = new CliHarness();
        var schema = h.Write("policy.v2.features.yaml", yaml);
        var model = Path.Combine(root, "samples", "PolicyEvolution", "Models", "PolicyV2.cs");
        var result = CliHarness.Run("graph", model, "--schema", schema, "--class", "PolicyV2", "--torchsharp", typeof(global::TorchSharp.torch).Assembly.Location);
        CliHarness.AssertOk(result);
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "NeuralSurgery.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("no folder above " + AppContext.BaseDirectory + " contains NeuralSurgery.sln");
    }

    [Fact]
    public void No_command_is_a_user_error_with_one_line()
    {
        CliHarness.AssertUserError(CliHarness.Run(), "surgery --help");
    }

    [Fact]
    public void Unknown_command_is_a_user_error_with_one_line()
    {
        CliHarness.AssertUserError(CliHarness.Run("transplant"), "transplant");
    }

    [Fact]
    public void A_missing_required_option_names_the_option_and_the_command_help()
    {
        CliHarness.AssertUserError(CliHarness.Run("apply", "--plan", "p.json", "--in", "a.bin"), "--out", "surgery apply --help");
    }

    [Fact]
    public void A_bad_format_value_is_a_user_error()
    {
        CliHarness.AssertUserError(CliHarness.Run("convert", "a.bin", "b.bin", "--format", "onnx"), "onnx");
    }

    [Theory]
    [InlineData(typeof(FileNotFoundException))]
    [InlineData(typeof(CheckpointFormatException))]
    [InlineData(typeof(PlanApplicationException))]
    [InlineData(typeof(NeuralSurgery.Schema.SchemaException))]
    [InlineData(typeof(NeuralSurgery.Json.JsonFormatException))]
    [InlineData(typeof(NeuralSurgery.Diff.PlanException))]
    [InlineData(typeof(UnauthorizedAccessException))]
    public void Library_input_errors_are_user_errors(Type type)
    {
        var exception = (Exception)Activator.CreateInstance(type, "x.bin: tensor 'w': bad\nsecond line")!;
        using var error = new StringWriter();
        Assert.Equal(ExitCodes.UserError, ErrorReport.Report(exception, error));
        Assert.Equal("error: x.bin: tensor 'w': bad second line" + Environment.NewLine, error.ToString());
    }

    [Fact]
    public void Unexpected_exceptions_are_internal_errors_naming_their_type()
    {
        using var error = new StringWriter();
        Assert.Equal(ExitCodes.InternalError, ErrorReport.Report(new AggregateException(new InvalidOperationException("boom")), error));
        Assert.Equal("internal error (System.InvalidOperationException): boom" + Environment.NewLine, error.ToString());
    }
}
