package dev.captionfn.model;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.captionfn.generate.DecoderState;
import dev.captionfn.modeldir.GraphContract;
import dev.captionfn.modeldir.ModelManifest;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The decoder's state for one batch of rows on the Java API's path: every run's inputs and outputs
 * are host tensors. The KV cache follows the search as the decoder contract says: a contract 1
 * graph is fed the presents gathered on the host into the search's row order; a contract 2 graph
 * takes the presents untouched with {@code beam_idx} and gathers inside the graph. The bound path
 * ({@link BoundDecoderState}) keeps the cache in the provider's memory instead.
 */
final class OnnxDecoderState implements DecoderState {
    private final OnnxGraphs graphs;
    private final int kvHeads;
    private final int headSize;
    private final OrtSession.RunOptions run;
    private final boolean reordersInGraph;
    private final DecoderRows rows = new DecoderRows();

    private float[] logits;
    private int width;
    /** Reused targets of {@link #gather}, one per layer's key and value. */
    private final ByteBuffer[] gatherBuffers;
    /** The last decoder run, whose present tensors are the next step's past; null before prefill. */
    private OrtSession.Result present;

    private OnnxDecoderState(OnnxGraphs graphs, OrtSession.RunOptions run, ByteBuffer[] gatherBuffers) {
        this.graphs = graphs;
        this.run = run;
        this.gatherBuffers = gatherBuffers;
        var llm = graphs.manifest().llm();
        this.kvHeads = llm.kvHeads();
        this.headSize = llm.headSize();
        this.reordersInGraph = graphs.manifest().decoder().reordersInGraph();
    }

    /**
     * @param gatherBuffers one slot per layer's key and value ({@link #scratch}); the state fills
     *     and grows them, and they may serve the next batch once this state is closed
     */
    static OnnxDecoderState prefill(OnnxGraphs graphs, List<DecoderRows.PrefillRow> batch, long padId, OrtSession.RunOptions run,
            ByteBuffer[] gatherBuffers) throws OrtException {
        OnnxDecoderState state = new OnnxDecoderState(graphs, run, gatherBuffers);
        try {
            state.runPrefill(batch, padId);
            return state;
        } catch (OrtException | RuntimeException e) {
            state.close();
            throw e;
        }
    }

    private void runPrefill(List<DecoderRows.PrefillRow> batch, long padId) throws OrtException {
        DecoderRows.Prefill prefill = rows.prefill(graphs, batch, padId, run);
        int b = rows.rows();
        List<OnnxTensor> owned = new ArrayList<>();
        try {
            Map<String, OnnxTensor> inputs = new HashMap<>();
            var env = graphs.env();
            long[] emptyShape = {b, kvHeads, 0, headSize};
            for (int i = 0; i < graphs.layers(); i++) {
                inputs.put(graphs.pastKey(i), track(owned, emptyCache(emptyShape)));
                inputs.put(graphs.pastValue(i), track(owned, emptyCache(emptyShape)));
            }
            if (reordersInGraph) {
                inputs.put(graphs.decoderInput(GraphContract.BEAM_IDX), track(owned, longs(DecoderRows.identity(b), b)));
            }
            int hidden = graphs.manifest().llm().hiddenSize();
            try (OnnxTensor e = OnnxTensor.createTensor(env, FloatBuffer.wrap(prefill.embeds()),
                    new long[] {b, prefill.length(), hidden})) {
                run(inputs, e, prefill.length(), prefill.positions());
            }
        } finally {
            owned.forEach(OnnxTensor::close);
        }
    }

    private OnnxTensor emptyCache(long[] shape) throws OrtException {
        boolean half = graphs.manifest().decoder().kv() == ModelManifest.KvType.FLOAT16;
        return OnnxTensor.createTensor(graphs.env(), ByteBuffer.allocateDirect(0), shape,
                half ? OnnxJavaType.FLOAT16 : OnnxJavaType.FLOAT);
    }

    private OnnxTensor longs(long[] values, long... shape) throws OrtException {
        return OnnxTensor.createTensor(graphs.env(), LongBuffer.wrap(values), shape);
    }

    @Override
    public void advance(int[] sourceRows, long[] tokens) {
        int r = sourceRows.length;
        int past = rows.total();
        boolean identity = DecoderRows.isIdentity(sourceRows, rows.rows());
        List<OnnxTensor> owned = new ArrayList<>();
        try (OrtSession.Result embeds = graphs.embedResult(tokens, r, 1, run)) {
            Map<String, OnnxTensor> inputs = new HashMap<>();
            for (int i = 0; i < graphs.layers(); i++) {
                inputs.put(graphs.pastKey(i), pastOf(presentTensor(graphs.presentKey(i)), sourceRows, identity, past, 2 * i, owned));
                inputs.put(graphs.pastValue(i), pastOf(presentTensor(graphs.presentValue(i)), sourceRows, identity, past, 2 * i + 1, owned));
            }
            if (reordersInGraph) {
                inputs.put(graphs.decoderInput(GraphContract.BEAM_IDX),
                        track(owned, longs(DecoderRows.beamIdx(sourceRows), r)));
            }
            DecoderRows.Step step = rows.advance(sourceRows);
            run(inputs, graphs.embedsOf(embeds), 1, step.positions());
        } catch (OrtException e) {
            throw new ModelRunException("decoder step failed: " + e.getMessage(), e);
        } finally {
            owned.forEach(OnnxTensor::close);
        }
    }

    /** A present as the next step's past: as it is where the graph reorders, else gathered here. */
    private OnnxTensor pastOf(OnnxTensor present, int[] sourceRows, boolean identity, int past, int slot, List<OnnxTensor> owned)
            throws OrtException {
        if (reordersInGraph || identity) {
            return present;
        }
        return track(owned, gather(present, sourceRows, past, slot));
    }

    /** Runs the decoder on [rows, length] new positions; keeps the last position's logits and the presents. */
    private void run(Map<String, OnnxTensor> past, OnnxTensor embeds, int length, long[] positions) throws OrtException {
        int b = rows.rows();
        try (OnnxTensor m = longs(rows.mask(), b, rows.total());
                OnnxTensor p = longs(positions, b, length)) {
            Map<String, OnnxTensor> inputs = new HashMap<>(past);
            inputs.put(graphs.decoderInput(GraphContract.INPUTS_EMBEDS), embeds);
            inputs.put(graphs.decoderInput(GraphContract.ATTENTION_MASK), m);
            inputs.put(graphs.decoderInput(GraphContract.POSITION_IDS), p);
            OrtSession.Result result = graphs.decode(inputs, run);
            OrtSession.Result previous = present;
            present = result;
            if (previous != null) {
                // the previous presents were this run's past: only now may they go
                previous.close();
            }
        }
        OnnxTensor out = (OnnxTensor) present.get(graphs.decoderOutput(GraphContract.LOGITS)).orElseThrow();
        long[] shape = out.getInfo().getShape();
        width = (int) shape[2];
        // a contract 2 graph returns the last position only
        int positionsOut = (int) shape[1];
        FloatBuffer all = out.getFloatBuffer();
        logits = new float[b * width];
        for (int r = 0; r < b; r++) {
            all.position((r * positionsOut + positionsOut - 1) * width);
            all.get(logits, r * width, width);
        }
    }

    private OnnxTensor presentTensor(String name) {
        return (OnnxTensor) present.get(name).orElseThrow(() -> new IllegalStateException("no decoder output " + name));
    }

    /** The rows of a [rows, kv, past, head] cache tensor, in the order given. */
    private OnnxTensor gather(OnnxTensor cache, int[] sourceRows, int pastLength, int slot) throws OrtException {
        int rowSize = kvHeads * pastLength * headSize;
        FloatBuffer src = cache.getFloatBuffer();
        FloatBuffer dst = gatherBuffer(slot, sourceRows.length * rowSize);
        for (int i = 0; i < sourceRows.length; i++) {
            src.limit((sourceRows[i] + 1) * rowSize).position(sourceRows[i] * rowSize);
            dst.put(src);
            src.limit(src.capacity());
        }
        dst.flip();
        return OnnxTensor.createTensor(graphs.env(), dst, new long[] {sourceRows.length, kvHeads, pastLength, headSize});
    }

    /** Empty slots for {@link #prefill}'s gather buffers. */
    static ByteBuffer[] scratch(OnnxGraphs graphs) {
        return new ByteBuffer[2 * graphs.layers()];
    }

    /**
     * A direct buffer in native order, which ONNX Runtime reads in place rather than copying, kept
     * per cache tensor and reused from step to step and batch to batch (a step's tensors are
     * closed before the next step): allocating direct memory every step cost more than the copy
     * itself. They grow to the largest batch's cache and stay that size.
     */
    private FloatBuffer gatherBuffer(int slot, int floats) {
        ByteBuffer buffer = gatherBuffers[slot];
        int bytes = floats * Float.BYTES;
        if (buffer == null || buffer.capacity() < bytes) {
            // room for the steps to come, whose past grows by one position each
            buffer = ByteBuffer.allocateDirect(bytes + bytes / 2).order(ByteOrder.nativeOrder());
            gatherBuffers[slot] = buffer;
        }
        buffer.clear().limit(bytes);
        return buffer.slice().order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    private static OnnxTensor track(List<OnnxTensor> owned, OnnxTensor t) {
        owned.add(t);
        return t;
    }

    @Override
    public int rows() {
        return rows.rows();
    }

    @Override
    public int width() {
        return width;
    }

    @Override
    public float[] logits() {
        return logits;
    }

    @Override
    public void close() {
        if (present != null) {
            present.close();
            present = null;
        }
    }
}
