namespace NeuralSurgery.Graph;

/// <summary>
/// One method per op kind (STYLE.md 13, torch.fx's Interpreter): every semantics of the IR (shapes, both tracers,
/// the reference executor, the JSON codec) implements it, so an op added to the IR without a rule is a compile
/// error in each of them rather than a <c>default: throw</c> found at run time. A module call dispatches on to
/// <see cref="ILayerVisitor{TArg, TResult}"/>.
/// </summary>
public interface IOpVisitor<in TArg, out TResult>
{
    TResult VisitCall(CallOp op, TArg arg);

    TResult VisitActivation(ActivationOp op, TArg arg);

    TResult VisitSoftmax(SoftmaxOp op, TArg arg);

    TResult VisitDropout(DropoutOp op, TArg arg);

    TResult VisitBinary(BinaryOp op, TArg arg);

    TResult VisitConcat(ConcatOp op, TArg arg);

    TResult VisitStack(StackOp op, TArg arg);

    TResult VisitReduce(ReduceOp op, TArg arg);

    TResult VisitReshape(ReshapeOp op, TArg arg);

    TResult VisitFlatten(FlattenOp op, TArg arg);

    TResult VisitUnsqueeze(UnsqueezeOp op, TArg arg);

    TResult VisitSqueeze(SqueezeOp op, TArg arg);

    TResult VisitNarrow(NarrowOp op, TArg arg);

    TResult VisitSlice(SliceOp op, TArg arg);

    TResult VisitTranspose(TransposeOp op, TArg arg);

    TResult VisitPool(PoolOp op, TArg arg);

    TResult VisitAdaptivePool(AdaptivePoolOp op, TArg arg);

    TResult VisitMatMul(MatMulOp op, TArg arg);

    TResult VisitPermute(PermuteOp op, TArg arg);

    TResult VisitScale(ScaleOp op, TArg arg);

    TResult VisitFill(FillOp op, TArg arg);

    TResult VisitArange(ArangeOp op, TArg arg);
}

/// <summary>One method per layer kind; see <see cref="IOpVisitor{TArg, TResult}"/>.</summary>
public interface ILayerVisitor<in TArg, out TResult>
{
    TResult VisitLinear(LinearSpec spec, TArg arg);

    TResult VisitEmbedding(EmbeddingSpec spec, TArg arg);

    TResult VisitConv1d(Conv1dSpec spec, TArg arg);

    TResult VisitRecurrent(RecurrentSpec spec, TArg arg);

    TResult VisitLayerNorm(LayerNormSpec spec, TArg arg);

    TResult VisitBatchNorm1d(BatchNorm1dSpec spec, TArg arg);

    TResult VisitBatchNorm2d(BatchNorm2dSpec spec, TArg arg);

    TResult VisitGroupNorm(GroupNormSpec spec, TArg arg);

    TResult VisitConv2d(Conv2dSpec spec, TArg arg);

    TResult VisitAttentionProjection(AttentionProjectionSpec spec, TArg arg);

    TResult VisitConvTranspose(ConvTransposeSpec spec, TArg arg);

    TResult VisitTensor(TensorSpec spec, TArg arg);
}
