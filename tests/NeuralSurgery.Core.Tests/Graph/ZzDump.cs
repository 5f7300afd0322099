using NeuralSurgery.Json;
namespace NeuralSurgery.Tests.Graph;
public class ZzDump
{
    [Fact]
    public void Dump()
    {
        System.IO.File.WriteAllText("/tmp/dump/mlp.json", GraphJson.Write(TestGraphs.Mlp()));
        System.IO.File.WriteAllText("/tmp/dump/all.json", GraphJson.Write(TestGraphs.Everything()));
    }
}
