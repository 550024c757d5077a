package dev.captionfn.model;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.captionfn.generate.DecoderState;
import dev.captionfn.modeldir.GraphContract;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The decoder's state for one batch of rows: attention masks, next positions and the KV cache,
 * which it reorders when the search keeps, repeats or drops rows.
 *
 * <p>Rows are left-padded at prefill, so every row's last position is its real last token; padded
 * positions are masked out and do not advance the position ids (HF: cumsum of the mask - 1).
 */
final class OnnxDecoderState implements DecoderState {
    /** A row to prefill: the projected query embeddings followed by the prompt's token ids. */
    record PrefillRow(float[] languageEmbeds, long[] promptIds) {}

    private final OnnxGraphs graphs;
    private final int hidden;
    private final int kvHeads;
    private final int headSize;
    private final OrtSession.RunOptions run;

    private int rows;
    private int pastLength;
    private long[] mask;
    private long[] nextPosition;
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
        this.hidden = llm.hiddenSize();
        this.kvHeads = llm.kvHeads();
        this.headSize = llm.headSize();
    }

    /**
     * @param gatherBuffers one slot per layer's key and value ({@link #scratch}); the state fills
     *     and grows them, and they may serve the next batch once this state is closed
     */
    static OnnxDecoderState prefill(OnnxGraphs graphs, List<PrefillRow> batch, long padId, OrtSession.RunOptions run,
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

    private void runPrefill(List<PrefillRow> batch, long padId) throws OrtException {
        int b = batch.size();
        int queries = graphs.manifest().qformer().queryTokens();
        int promptMax = batch.stream().mapToInt(r -> r.promptIds().length).max().orElse(0);
        long[] ids = new long[b * promptMax];
        java.util.Arrays.fill(ids, padId);
        for (int r = 0; r < b; r++) {
            long[] p = batch.get(r).promptIds();
            System.arraycopy(p, 0, ids, r * promptMax + promptMax - p.length, p.length);
        }
        float[] promptEmbeds = promptMax == 0 ? new float[0] : graphs.embed(ids, b, promptMax, run);

        int length = queries + promptMax;
        float[] embeds = new float[b * length * hidden];
        long[] positions = new long[b * length];
        mask = new long[b * length];
        nextPosition = new long[b];
        for (int r = 0; r < b; r++) {
            PrefillRow row = batch.get(r);
            int pad = promptMax - row.promptIds().length;
            int base = r * length;
            System.arraycopy(row.languageEmbeds(), 0, embeds, (base + pad) * hidden, queries * hidden);
            System.arraycopy(promptEmbeds, (r * promptMax + pad) * hidden, embeds, (base + pad + queries) * hidden,
                    row.promptIds().length * hidden);
            for (int t = 0; t < length; t++) {
                boolean real = t >= pad;
                mask[base + t] = real ? 1 : 0;
                positions[base + t] = real ? t - pad : 1;
            }
            nextPosition[r] = length - pad;
        }
        rows = b;
        List<OnnxTensor> past = new ArrayList<>();
        try {
            Map<String, OnnxTensor> inputs = new HashMap<>();
            var env = graphs.env();
            long[] emptyShape = {b, kvHeads, 0, headSize};
            for (int i = 0; i < graphs.layers(); i++) {
                OnnxTensor k = OnnxTensor.createTensor(env, FloatBuffer.allocate(0), emptyShape);
                past.add(k);
                inputs.put(graphs.pastKey(i), k);
                OnnxTensor v = OnnxTensor.createTensor(env, FloatBuffer.allocate(0), emptyShape);
                past.add(v);
                inputs.put(graphs.pastValue(i), v);
            }
            try (OnnxTensor e = OnnxTensor.createTensor(env, FloatBuffer.wrap(embeds), new long[] {b, length, hidden})) {
                run(inputs, e, length, positions);
            }
        } finally {
            past.forEach(OnnxTensor::close);
        }
    }

    @Override
    public void advance(int[] sourceRows, long[] tokens) {
        int r = sourceRows.length;
        int total = pastLength + 1;
        long[] newMask = new long[r * total];
        long[] positions = new long[r];
        long[] newNext = new long[r];
        for (int i = 0; i < r; i++) {
            int src = sourceRows[i];
            System.arraycopy(mask, src * pastLength, newMask, i * total, pastLength);
            newMask[i * total + pastLength] = 1;
            positions[i] = nextPosition[src];
            newNext[i] = nextPosition[src] + 1;
        }
        List<OnnxTensor> gathered = new ArrayList<>();
        try (OrtSession.Result embeds = graphs.embedResult(tokens, r, 1, run)) {
            Map<String, OnnxTensor> inputs = new HashMap<>();
            boolean identity = r == rows && isIdentity(sourceRows);
            for (int i = 0; i < graphs.layers(); i++) {
                inputs.put(graphs.pastKey(i), identity ? presentTensor(graphs.presentKey(i))
                        : track(gathered, gather(presentTensor(graphs.presentKey(i)), sourceRows, 2 * i)));
                inputs.put(graphs.pastValue(i), identity ? presentTensor(graphs.presentValue(i))
                        : track(gathered, gather(presentTensor(graphs.presentValue(i)), sourceRows, 2 * i + 1)));
            }
            mask = newMask;
            nextPosition = newNext;
            rows = r;
            run(inputs, graphs.embedsOf(embeds), 1, positions);
        } catch (OrtException e) {
            throw new ModelRunException("decoder step failed: " + e.getMessage(), e);
        } finally {
            gathered.forEach(OnnxTensor::close);
        }
    }

    /** Runs the decoder on [rows, length] new positions; keeps the last position's logits and the presents. */
    private void run(Map<String, OnnxTensor> past, OnnxTensor embeds, int length, long[] positions) throws OrtException {
        var env = graphs.env();
        int total = mask.length / rows;
        try (OnnxTensor m = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), new long[] {rows, total});
                OnnxTensor p = OnnxTensor.createTensor(env, LongBuffer.wrap(positions), new long[] {rows, length})) {
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
        FloatBuffer all = out.getFloatBuffer();
        logits = new float[rows * width];
        for (int r = 0; r < rows; r++) {
            all.position((r * length + length - 1) * width);
            all.get(logits, r * width, width);
        }
        pastLength = total;
    }

    private OnnxTensor presentTensor(String name) {
        return (OnnxTensor) present.get(name).orElseThrow(() -> new IllegalStateException("no decoder output " + name));
    }

    /** The rows of a [rows, kv, past, head] cache tensor, in the order given. */
    private OnnxTensor gather(OnnxTensor cache, int[] sourceRows, int slot) throws OrtException {
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

    private static boolean isIdentity(int[] rows) {
        for (int i = 0; i < rows.length; i++) {
            if (rows[i] != i) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int rows() {
        return rows;
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
