using System;
using System.IO;
using System.Linq;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Execution;
using NeuralSurgery.TorchSharp.Tests.Models;
using NeuralSurgery.TorchSharp.Tuning;
using TorchSharp;
using static TorchSharp.torch;

namespace NeuralSurgery.TorchSharp.Tests;

/// <summary>
/// The CUDA subset: the same capabilities with every module on the GPU. Run by scripts/test-cuda.sh on a machine with
/// CUDA (the test project built against TorchSharp-cuda-linux); ./test.sh leaves them out, and here they fail, rather
/// than pass, when CUDA is not there.
/// </summary>
[Trait("Category", "Cuda")]
public sealed class CudaTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ns-cuda-").FullName;

    public CudaTests() => Assert.True(torch.cuda.is_available(), "CUDA is not available: run this subset with scripts/test-cuda.sh on a CUDA machine");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Module_to_module_apply_on_the_GPU_gives_the_CPU_bytes()
    {
        torch.manual_seed(1);
        var v1 = new TrackerV1();
        var cpu = new TrackerV2();
        LiveSurgery.Apply(TrackerV2.SurgeryFromTrackerV1.Plan, v1, cpu, seed: 3);
        var gpu = new TrackerV2();
        gpu.to(CUDA);
        v1.to(CUDA);
        LiveSurgery.Apply(TrackerV2.SurgeryFromTrackerV1.Plan, v1, gpu, seed: 3);
        Assert.All(gpu.parameters(), p => Assert.Equal(DeviceType.CUDA, p.device_type));
        gpu.to(CPU);
        Assert.Equal(Bytes(cpu), Bytes(gpu));
    }

    [Fact]
    public void Equivalence_by_the_models_own_forward_on_the_GPU()
    {
        torch.manual_seed(2);
        var v1 = new ScoutV1();
        var v1Path = Path.Combine(_dir, "v1.dat");
        v1.save(v1Path);
        var v2 = new ScoutV2();
        ScoutV2.SurgeryFromScoutV1.LoadInto(v2, v1Path, seed: 1);
        v1.to(CUDA);
        v2.to(CUDA);
        var report = ScoutV2.SurgeryFromScoutV1.Verify(v1, v2);
        Assert.True(report.Passed, report.Diagnosis);
        Assert.StartsWith("cuda", report.Device, StringComparison.Ordinal);
    }

    [Fact]
    public void Masked_Adam_keeps_frozen_elements_and_optimizer_state_carries_on_the_GPU()
    {
        torch.manual_seed(3);
        var v1 = new PolicyV1();
        v1.to(CUDA);
        var adam = optim.Adam(v1.parameters(), 1e-2);
        var hero = randn(16, 4, device: CUDA);
        var ids = randint(0, 3, new long[] { 16 }, device: CUDA);
        adam.zero_grad();
        v1.forward(hero, ids).pow(2).mean().backward();
        adam.step();

        var v2 = new PolicyV2();
        v2.to(CUDA);
        PolicyV2.SurgeryFromPolicyV1.Apply(v1, v2);
        global::TorchSharp.Modules.OptimizerHelper next = optim.AdamW(v2.parameters(), 1e-2, weight_decay: 0.5);
        Assert.Throws<ArgumentException>(() => PolicyV2.SurgeryFromPolicyV1.CarryOptimizerState(v1, adam, v2, next));
        next = optim.Adam(v2.parameters(), 1e-2, weight_decay: 0.5);
        Assert.True(PolicyV2.SurgeryFromPolicyV1.CarryOptimizerState(v1, adam, v2, next) > 0);

        var mask = DeviceSelection.Random(v2, 20, seed: 5);
        Assert.All(mask.Names, n => Assert.Equal(DeviceType.CUDA, mask[n].device_type));
        var step = new MaskedStep(v2, mask);
        var wide = torch.cat([hero, zeros(16, 1, device: CUDA)], 1);
        for (var i = 0; i < 50; i++)
        {
            next.zero_grad();
            v2.forward(wide, ids).pow(2).mean().backward();
            step.Step(next);
        }

        Assert.Equal(20, step.ChangedElements());
    }

    [Fact]
    public void Dyn_Delta_reaches_exactly_n_on_the_GPU()
    {
        torch.manual_seed(4);
        var model = new PolicyV1();
        model.to(CUDA);
        var dyn = new DynamicSparseTuning(model, new Runtime.Tuning.DynamicOptions { N = 15, KStart = 2, KEvery = 2, Eta = 0.5 });
        var sgd = optim.SGD(model.parameters(), 0.05);
        var hero = randn(16, 4, device: CUDA);
        var ids = randint(0, 3, new long[] { 16 }, device: CUDA);
        for (var i = 0; i < 20; i++)
        {
            sgd.zero_grad();
            model.forward(hero, ids).pow(2).mean().backward();
            dyn.Step(sgd);
        }

        dyn.Finish();
        Assert.Equal(15, dyn.Allowed.Count());
    }

    private byte[] Bytes(nn.Module module)
    {
        var path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".dat");
        module.save(path);
        return File.ReadAllBytes(path);
    }
}
