using NeuralSurgery;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace NeuralSurgery.TorchSharp.Tests.Models;

// Models whose units are removed (issue 15): widths are constructor parameters, so the narrowed model is the same
// class with smaller arguments; the generator reads the defaults.

[SurgeryModel("prune_mlp.features.yaml")]
public sealed partial class PruneMlp : Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly Linear fc2;
    private readonly BatchNorm1d norm;
    private readonly Linear fc3;

    public PruneMlp(long hidden = 16, long inner = 12) : base(nameof(PruneMlp))
    {
        fc1 = Linear(5, hidden);
        fc2 = Linear(hidden, inner);
        norm = BatchNorm1d(inner);
        fc3 = Linear(inner, 3);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var h = torch.tanh(fc1.call(x));
        return fc3.call(functional.relu(norm.call(fc2.call(h))));
    }
}

[SurgeryModel("prune_encoders.features.yaml")]
public sealed partial class PruneEncoders : Module<Tensor, Tensor, Tensor>
{
    private readonly Linear hero_encoder;
    private readonly Linear unit_encoder;
    private readonly Linear head;

    public PruneEncoders(long heroWidth = 6, long unitWidth = 5) : base(nameof(PruneEncoders))
    {
        hero_encoder = Linear(3, heroWidth);
        unit_encoder = Linear(4, unitWidth);
        head = Linear(heroWidth + unitWidth, 2);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hero, Tensor units)
    {
        var pooled = torch.tanh(unit_encoder.call(units)).max(1).values;
        var x = torch.cat([functional.relu(hero_encoder.call(hero)), pooled], -1);
        return head.call(x);
    }
}

[SurgeryModel("prune_lstm.features.yaml")]
public sealed partial class PruneLstm : Module<Tensor, Tensor>
{
    private readonly Linear encoder;
    private readonly LSTM lstm;
    private readonly Linear head;

    public PruneLstm(long encoded = 6, long hidden = 8) : base(nameof(PruneLstm))
    {
        encoder = Linear(3, encoded);
        lstm = LSTM(encoded, hidden, batchFirst: true);
        head = Linear(hidden, 2);
        RegisterComponents();
    }

    public override Tensor forward(Tensor track)
    {
        var (sequence, _, _) = lstm.forward(torch.tanh(encoder.call(track)));
        return head.call(sequence.max(1).values);
    }
}

[SurgeryModel("prune_gru.features.yaml")]
public sealed partial class PruneGru : Module<Tensor, Tensor>
{
    private readonly Linear encoder;
    private readonly GRU gru;
    private readonly Linear head;

    public PruneGru(long encoded = 6, long hidden = 7) : base(nameof(PruneGru))
    {
        encoder = Linear(3, encoded);
        gru = GRU(encoded, hidden, batchFirst: true);
        head = Linear(hidden, 2);
        RegisterComponents();
    }

    public override Tensor forward(Tensor track)
    {
        var (sequence, _) = gru.forward(torch.tanh(encoder.call(track)));
        return head.call(sequence.max(1).values);
    }
}
