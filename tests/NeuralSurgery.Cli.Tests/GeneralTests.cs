using System;
using System.IO;
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
