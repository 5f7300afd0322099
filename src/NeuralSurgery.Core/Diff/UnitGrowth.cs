using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NeuralSurgery.Collections;
using NeuralSurgery.Graph;
using NeuralSurgery.Plan;
using NeuralSurgery.Tracing;

namespace NeuralSurgery.Diff;

/// <summary>A growth as a plan, with the widened graph it makes; the new units are <c>OldWidth .. NewWidth - 1</c> of <see cref="Space"/>.</summary>
public sealed record UnitGrowthPlan(SurgeryPlan Plan, ModelGraph Widened, string Space, string Module, long OldWidth, long NewWidth)
{
    /// <summary>The new units' indices in the widened layer.</summary>
    public IEnumerable<long> Added => Enumerable.Range(0, (int)(NewWidth - OldWidth)).Select(i => OldWidth + i);
}

/// <summary>
/// Adding units to one layer as an ordinary <see cref="SurgeryPlan"/> (issue 15 part 4; paper 004 section 2: "appending
/// k rows of fan-in weights in W_l and k columns of fan-out weights in W_l+1"). The graph is widened by exactly the
/// indices the tracer says each unit owns (every LSTM/GRU gate block, norm channels, consumer columns through concats,
/// sets and flattens), and the differ does the rest as for any widened class: new rows get the layer's default
/// (random) initialisation, new input columns are zero, so the new units have zero fan-out and the model's outputs do
/// not change (paper 001 eq. 1). <see cref="WithFanIn"/> replaces the random rows with chosen ones (NORTH-Select).
/// </summary>
public static class UnitGrowth
{
    /// <summary>The plan that appends <paramref name="count"/> units to <paramref name="layer"/> (a module path or a unit space such as <c>lstm.l0</c>).</summary>
    public static UnitGrowthPlan Plan(ModelSide model, string layer, long count)
    {
        if (model is null)
        {
            throw new ArgumentNullException(nameof(model));
        }

        if (layer is null)
        {
            throw new ArgumentNullException(nameof(layer));
        }

        var space = UnitRemoval.FindSpace(model, layer);
        if (count < 1)
        {
            throw new PlanException($"adding {count.ToString(CultureInfo.InvariantCulture)} units to layer '{space.Name}'; expected at least 1");
        }

        var owners = UnitRemoval.OwnerSpaces(model.Map, space);
        var atoms = new HashSet<long>(owners.SelectMany(s => Enumerable.Range(0, (int)space.Size).Select(u => Atom.Pack(s, u))));
        UnitRemoval.RefuseHeads(model, space, atoms, "growing them", "add output features in the schema instead (a head's rows are named by them)");

        // Per parameter and axis, how many indices each unit owns there; every unit must own as many (a flatten gives a
        // channel H·W columns, an LSTM unit four rows), so the new units own count times that.
        var gained = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var p in model.Graph.Parameters)
        {
            var phi = model.Map[p.Name];
            var perAxis = new long[phi.Rank];
            for (var a = 0; a < phi.Rank; a++)
            {
                var perUnit = new long[space.Size];
                foreach (var key in AxisKeys.Of(phi, a))
                {
                    foreach (var unit in key.Where(atom => owners.Contains(Atom.Space(atom))).Select(Atom.Id).Distinct())
                    {
                        perUnit[unit]++;
                    }
                }

                if (perUnit.Distinct().Count() > 1)
                {
                    throw new PlanException($"adding units to layer '{space.Name}': '{p.Name}' axis {a.ToString(CultureInfo.InvariantCulture)} gives its units {perUnit.Min().ToString(CultureInfo.InvariantCulture)} to {perUnit.Max().ToString(CultureInfo.InvariantCulture)} indices each; a new unit's share there is not defined");
                }

                perAxis[a] = -count * perUnit[0];
            }

            gained[p.Name] = perAxis;
        }

        var widened = UnitRemoval.Resize(model.Graph, gained, space.Name, "adding");
        var newSide = ModelSide.Trace(widened, model.Schema);
        var sources = Enumerable.Range(0, (int)(space.Size + count)).Select(i => i < space.Size ? (long)i : -1L).ToEquatableArray();
        var plan = SurgeryDiffer.Diff(model, newSide, PlanOptions.Default with { UnitMaps = new[] { new UnitMap(space.Name, sources) }.ToEquatableArray() });
        return new UnitGrowthPlan(plan, widened, space.Name, space.Module, space.Size, space.Size + count);
    }

    /// <summary>
    /// The growth with chosen fan-in for the new units of a layer whose weight is <c>[units, inputs]</c> (a Linear):
    /// their rows of <paramref name="weight"/> and entries of <paramref name="bias"/> are initialised to zero and the
    /// chosen values are the plan's additions, so the plan stays data (reviewable JSON) and any executor reproduces it.
    /// Their fan-out stays zero.
    /// </summary>
    public static UnitGrowthPlan WithFanIn(UnitGrowthPlan growth, string weight, string? bias, IReadOnlyList<double[]> rows, IReadOnlyList<double>? biases)
    {
        if (growth is null)
        {
            throw new ArgumentNullException(nameof(growth));
        }

        if (rows is null)
        {
            throw new ArgumentNullException(nameof(rows));
        }

        var added = growth.NewWidth - growth.OldWidth;
        if (rows.Count != added || (biases is not null && biases.Count != added))
        {
            throw new PlanException($"fan-in for layer '{growth.Space}': {rows.Count.ToString(CultureInfo.InvariantCulture)} rows{(biases is null ? string.Empty : " and " + biases.Count.ToString(CultureInfo.InvariantCulture) + " biases")} given; expected {added.ToString(CultureInfo.InvariantCulture)}, one per new unit");
        }

        var tensors = growth.Plan.Tensors.ToList();
        int Find(string name) => tensors.FindIndex(t => t.Name == name) is var i and >= 0
            ? i
            : throw new PlanException($"fan-in for layer '{growth.Space}': the plan has no tensor '{name}'");
        var w = Find(weight);
        var wt = tensors[w];
        if (wt.Shape.Count != 2 || wt.Shape[0] != growth.NewWidth || wt.Axes[0].Role != AxisRole.Output)
        {
            throw new PlanException($"fan-in for layer '{growth.Space}': '{weight}' is [{string.Join(", ", wt.Shape)}]; expected [{growth.NewWidth.ToString(CultureInfo.InvariantCulture)}, inputs] with the layer's units as rows (a Linear weight)");
        }

        var inputs = wt.Shape[1];
        var values = new double[wt.TotalElements];
        for (var r = 0; r < rows.Count; r++)
        {
            if (rows[r].Length != inputs || rows[r].Any(v => double.IsNaN(v) || double.IsInfinity(v)))
            {
                throw new PlanException($"fan-in for layer '{growth.Space}': row {r.ToString(CultureInfo.InvariantCulture)} has {rows[r].Length.ToString(CultureInfo.InvariantCulture)} values; expected {inputs.ToString(CultureInfo.InvariantCulture)} finite values");
            }

            Array.Copy(rows[r], 0, values, (growth.OldWidth + r) * inputs, inputs);
        }

        tensors[w] = ZeroNewRows(wt, values);
        if (bias is not null)
        {
            var b = Find(bias);
            var bv = new double[tensors[b].TotalElements];
            for (var r = 0; r < added; r++)
            {
                bv[growth.OldWidth + r] = biases?[r] ?? 0;
            }

            tensors[b] = ZeroNewRows(tensors[b], bv);
        }

        return growth with { Plan = growth.Plan with { Tensors = tensors.ToEquatableArray() } };
    }

    private static TensorPlan ZeroNewRows(TensorPlan t, double[] add)
    {
        if (t.Add.Count > 0)
        {
            for (var i = 0; i < add.Length; i++)
            {
                add[i] += t.Add[i];
            }
        }

        var axes = t.Axes.Select((a, i) => i == 0 ? a with { Unmapped = InitRule.Zeros } : a).ToEquatableArray();
        return t with { Axes = axes, Add = add.ToEquatableArray() };
    }
}
