package dev.captionfn.model;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.captionfn.generate.DecoderState;
import dev.captionfn.generate.Generator;
import dev.captionfn.generate.TokenSpace;
import dev.captionfn.modeldir.Graph;
import dev.captionfn.modeldir.GraphContract;
import dev.captionfn.modeldir.ModelManifest;
import dev.captionfn.ort.ProfileShapes;
import dev.captionfn.ort.SessionFactory;
import dev.captionfn.ort.SessionSettings;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The benchmark's baseline: the model's three graphs and nothing else. For each caption it runs
 * the vision graph, the embed graph on the prompt, the decoder's prefill and then exactly the
 * decoder steps (rows and lengths) that captionfn's own search took for that input, recorded once
 * beforehand; every input tensor is prepared ahead, presents feed the next step as its past, and
 * no logits are read. What captionfn adds on top of this loop — HTTP, fetching, decoding,
 * preprocessing, tokenizing, the search, reordering the KV cache, batching — is its overhead.
 */
public final class BareModelLoop implements AutoCloseable {
    /** One caption's recorded shape: the prompt length and the rows of each decoder step after prefill. */
    public record Trace(int promptLength, int[] rowsPerStep) {}

    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final ModelManifest manifest;
    private final OrtSession vision;
    private final OrtSession embed;
    private final OrtSession decoder;
    private final List<PreparedCaption> captions = new ArrayList<>();
    /** captionfn's own sessions, which recorded the traces and name the decoder's tensors. */
    private final OnnxGraphs graphs;

    private BareModelLoop(OnnxGraphs graphs, Path dir, ModelManifest manifest, SessionSettings settings) {
        this.graphs = graphs;
        this.manifest = manifest;
        // sessions of its own, made as captionfn makes them, so that nothing is shared with the traced run
        var factory = new SessionFactory(env, dir, manifest, settings, new ProfileShapes.DefaultRequest(manifest.qformer().maxLength(), 1));
        this.vision = factory.open(Graph.VISION).session();
        this.embed = factory.open(Graph.EMBED).session();
        this.decoder = factory.open(Graph.DECODER).session();
    }

    /**
     * Records each input's trace with captionfn's own search, then prepares every tensor the bare
     * loop will feed.
     */
    public static BareModelLoop prepare(LoadedModel model, SessionSettings settings, List<VisionLanguageModel.Input> inputs)
            throws OrtException {
        // sessions for requests of no particular shape: the trace's own
        OnnxGraphs graphs = OnnxGraphs.load(model.dir(), model.manifest(), settings,
                new ProfileShapes.DefaultRequest(model.manifest().qformer().maxLength(), 1));
        BareModelLoop loop = new BareModelLoop(graphs, model.dir(), model.manifest(), settings);
        for (VisionLanguageModel.Input input : inputs) {
            loop.captions.add(loop.new PreparedCaption(input, trace(graphs, model, input)));
        }
        return loop;
    }

    static Trace trace(OnnxGraphs graphs, LoadedModel model, VisionLanguageModel.Input input) throws OrtException {
        ModelManifest m = model.manifest();
        long[] q = input.qformerIds();
        long[] mask = new long[q.length];
        Arrays.fill(mask, 1);
        try (BatchControl control = new BatchControl(1)) {
            float[] embeds = graphs.languageEmbeds(input.pixelValues(), 1, q, mask, q.length, control.runOptions());
            List<Integer> rows = new ArrayList<>();
            try (OnnxDecoderState state = OnnxDecoderState.prefill(graphs,
                    List.of(new DecoderRows.PrefillRow(embeds, input.promptIds())), m.llm().padId(), control.runOptions(),
                    OnnxDecoderState.scratch(graphs))) {
                DecoderState recording = new DecoderState() {
                    public int rows() {
                        return state.rows();
                    }

                    public int width() {
                        return state.width();
                    }

                    public float[] logits() {
                        return state.logits();
                    }

                    public void advance(int[] sourceRows, long[] tokens) {
                        rows.add(sourceRows.length);
                        state.advance(sourceRows, tokens);
                    }

                    public void close() {}
                };
                TokenSpace space = new TokenSpace(m.llm().eosIds().stream().mapToLong(Long::longValue).toArray(),
                        m.llm().vocabSize(), state.width());
                Generator.run(recording, List.of(model.model().search(input, space)), s -> false);
            }
            return new Trace(input.promptIds().length, rows.stream().mapToInt(Integer::intValue).toArray());
        }
    }

    public List<Trace> traces() {
        return captions.stream().map(c -> c.trace).toList();
    }

    /** Runs caption {@code i % size} once. */
    public void caption(int i) throws OrtException {
        captions.get(i % captions.size()).run();
    }

    public int size() {
        return captions.size();
    }

    /** Every tensor of one caption, made before the clock starts. */
    private final class PreparedCaption {
        final Trace trace;
        final Map<String, OnnxTensor> visionInputs = new HashMap<>();
        final Map<String, OnnxTensor> promptInput;
        final OnnxTensor prefillMask;
        final OnnxTensor prefillPositions;
        final Map<String, OnnxTensor> emptyPast = new HashMap<>();
        final List<OnnxTensor> stepIds = new ArrayList<>();
        final List<OnnxTensor> stepMasks = new ArrayList<>();
        final List<OnnxTensor> stepPositions = new ArrayList<>();
        /** Stand-in pasts for a step whose row count differs from the step before (1 row to the beams). */
        final List<Map<String, OnnxTensor>> widenedPasts = new ArrayList<>();
        final List<OnnxTensor> owned = new ArrayList<>();

        PreparedCaption(VisionLanguageModel.Input input, Trace trace) throws OrtException {
            this.trace = trace;
            var image = manifest.image();
            var v = manifest.graphs().vision();
            visionInputs.put(v.input(GraphContract.PIXEL_VALUES), own(OnnxTensor.createTensor(env,
                    FloatBuffer.wrap(input.pixelValues()), new long[] {1, 3, image.height(), image.width()})));
            if (manifest.family().qformerReadsInstruction()) {
                long[] q = input.qformerIds();
                long[] mask = new long[q.length];
                Arrays.fill(mask, 1);
                visionInputs.put(v.input(GraphContract.QFORMER_INPUT_IDS),
                        own(OnnxTensor.createTensor(env, LongBuffer.wrap(q), new long[] {1, q.length})));
                visionInputs.put(v.input(GraphContract.QFORMER_ATTENTION_MASK),
                        own(OnnxTensor.createTensor(env, LongBuffer.wrap(mask), new long[] {1, q.length})));
            }
            long[] prompt = input.promptIds();
            promptInput = Map.of(manifest.graphs().embed().input(GraphContract.INPUT_IDS),
                    own(OnnxTensor.createTensor(env, LongBuffer.wrap(prompt), new long[] {1, prompt.length})));
            int prefill = manifest.qformer().queryTokens() + prompt.length;
            prefillMask = own(ones(1, prefill));
            long[] positions = new long[prefill];
            Arrays.setAll(positions, i -> i);
            prefillPositions = own(OnnxTensor.createTensor(env, LongBuffer.wrap(positions), new long[] {1, prefill}));
            emptyPast.putAll(pasts(1, 0));
            int rowsBefore = 1;
            int past = prefill;
            for (int rows : trace.rowsPerStep()) {
                long[] ids = new long[rows];
                // any real token: the values do not change the work, the shapes do
                Arrays.fill(ids, prompt[prompt.length - 1]);
                stepIds.add(own(OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {rows, 1})));
                stepMasks.add(own(ones(rows, past + 1)));
                long[] pos = new long[rows];
                Arrays.fill(pos, past);
                stepPositions.add(own(OnnxTensor.createTensor(env, LongBuffer.wrap(pos), new long[] {rows, 1})));
                widenedPasts.add(rows == rowsBefore ? null : pasts(rows, past));
                rowsBefore = rows;
                past++;
            }
        }

        private OnnxTensor own(OnnxTensor t) {
            owned.add(t);
            return t;
        }

        private OnnxTensor ones(int rows, int length) throws OrtException {
            long[] mask = new long[rows * length];
            Arrays.fill(mask, 1);
            return OnnxTensor.createTensor(env, LongBuffer.wrap(mask), new long[] {rows, length});
        }

        private Map<String, OnnxTensor> pasts(int rows, int length) throws OrtException {
            var llm = manifest.llm();
            Map<String, OnnxTensor> past = new HashMap<>();
            long[] shape = {rows, llm.kvHeads(), length, llm.headSize()};
            int size = rows * llm.kvHeads() * length * llm.headSize();
            for (int i = 0; i < llm.layers(); i++) {
                past.put(graphs.pastKey(i), own(OnnxTensor.createTensor(env, FloatBuffer.allocate(size), shape)));
                past.put(graphs.pastValue(i), own(OnnxTensor.createTensor(env, FloatBuffer.allocate(size), shape)));
            }
            return past;
        }

        void run() throws OrtException {
            var specs = manifest.graphs();
            var d = specs.decoder();
            var llm = manifest.llm();
            int queries = manifest.qformer().queryTokens();
            int hidden = llm.hiddenSize();
            float[] prefillEmbeds = new float[(queries + trace.promptLength()) * hidden];
            try (OrtSession.Result visionOut = vision.run(visionInputs);
                    OrtSession.Result promptOut = embed.run(promptInput)) {
                ((OnnxTensor) visionOut.get(0)).getFloatBuffer().get(prefillEmbeds, 0, queries * hidden);
                ((OnnxTensor) promptOut.get(0)).getFloatBuffer().get(prefillEmbeds, queries * hidden, trace.promptLength() * hidden);
            }
            OrtSession.Result present;
            try (OnnxTensor embeds = OnnxTensor.createTensor(env, FloatBuffer.wrap(prefillEmbeds),
                    new long[] {1, queries + trace.promptLength(), hidden})) {
                Map<String, OnnxTensor> inputs = new HashMap<>(emptyPast);
                inputs.put(d.input(GraphContract.INPUTS_EMBEDS), embeds);
                inputs.put(d.input(GraphContract.ATTENTION_MASK), prefillMask);
                inputs.put(d.input(GraphContract.POSITION_IDS), prefillPositions);
                present = decoder.run(inputs);
            }
            try {
                for (int s = 0; s < trace.rowsPerStep().length; s++) {
                    try (OrtSession.Result stepEmbeds = embed.run(Map.of(specs.embed().input(GraphContract.INPUT_IDS), stepIds.get(s)))) {
                        Map<String, OnnxTensor> inputs = new HashMap<>();
                        Map<String, OnnxTensor> widened = widenedPasts.get(s);
                        for (int i = 0; i < llm.layers(); i++) {
                            String key = graphs.pastKey(i);
                            String value = graphs.pastValue(i);
                            inputs.put(key, widened != null ? widened.get(key)
                                    : (OnnxTensor) present.get(graphs.presentKey(i)).orElseThrow());
                            inputs.put(value, widened != null ? widened.get(value)
                                    : (OnnxTensor) present.get(graphs.presentValue(i)).orElseThrow());
                        }
                        inputs.put(d.input(GraphContract.INPUTS_EMBEDS), (OnnxTensor) stepEmbeds.get(0));
                        inputs.put(d.input(GraphContract.ATTENTION_MASK), stepMasks.get(s));
                        inputs.put(d.input(GraphContract.POSITION_IDS), stepPositions.get(s));
                        OrtSession.Result next = decoder.run(inputs);
                        present.close();
                        present = next;
                    }
                }
            } finally {
                present.close();
            }
        }
    }

    @Override
    public void close() throws OrtException {
        for (PreparedCaption c : captions) {
            c.owned.forEach(OnnxTensor::close);
        }
        vision.close();
        embed.close();
        decoder.close();
        graphs.close();
    }
}
