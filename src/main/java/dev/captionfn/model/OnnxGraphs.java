package dev.captionfn.model;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.captionfn.modeldir.Graph;
import dev.captionfn.modeldir.GraphContract;
import dev.captionfn.modeldir.ModelFiles;
import dev.captionfn.modeldir.ModelManifest;
import dev.captionfn.ort.ExecutionProvider;
import dev.captionfn.ort.GraphSession;
import dev.captionfn.ort.IoBinding;
import dev.captionfn.ort.ProfileShapes;
import dev.captionfn.ort.SessionFactory;
import dev.captionfn.ort.SessionSettings;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The three ONNX Runtime sessions of a model directory, created and checked against model.json at
 * startup, with one method per graph. Tensor names come from model.json only.
 */
public final class OnnxGraphs implements AutoCloseable {
    private final OrtEnvironment env;
    private final ModelManifest manifest;
    private final OrtSession vision;
    private final OrtSession embed;
    private final OrtSession decoder;
    private final String[] pastKeys;
    private final String[] pastValues;
    private final String[] presentKeys;
    private final String[] presentValues;
    private final List<GraphSession> sessions;
    private final List<String> warnings;
    private final SessionSettings settings;
    private final AtomicReference<IoBinding> spareBinding = new AtomicReference<>();

    private OnnxGraphs(OrtEnvironment env, ModelManifest manifest, OrtSession vision, OrtSession embed, OrtSession decoder,
            List<GraphSession> sessions, List<String> warnings, SessionSettings settings) {
        this.env = env;
        this.settings = settings;
        this.sessions = List.copyOf(sessions);
        this.warnings = List.copyOf(warnings);
        this.manifest = manifest;
        this.vision = vision;
        this.embed = embed;
        this.decoder = decoder;
        int layers = manifest.llm().layers();
        var spec = manifest.graphs().decoder();
        pastKeys = new String[layers];
        pastValues = new String[layers];
        presentKeys = new String[layers];
        presentValues = new String[layers];
        for (int i = 0; i < layers; i++) {
            pastKeys[i] = GraphContract.layerName(manifest, spec, true, GraphContract.PAST_KEY, i);
            pastValues[i] = GraphContract.layerName(manifest, spec, true, GraphContract.PAST_VALUE, i);
            presentKeys[i] = GraphContract.layerName(manifest, spec, false, GraphContract.PRESENT_KEY, i);
            presentValues[i] = GraphContract.layerName(manifest, spec, false, GraphContract.PRESENT_VALUE, i);
        }
    }

    /**
     * Creates and checks the sessions on the configured execution providers, each from its
     * warm-start cache where one is valid; files must already be verified ({@link ModelFiles#verify}).
     *
     * @param typical the default request's shapes, which TensorRT tunes its engines for
     */
    public static OnnxGraphs load(Path modelDir, ModelManifest manifest, SessionSettings settings,
            ProfileShapes.DefaultRequest typical) {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        SessionFactory factory = new SessionFactory(env, modelDir, manifest, settings, typical);
        Map<Graph, SessionFactory.Opened> opened = new EnumMap<>(Graph.class);
        try {
            for (Graph graph : Graph.values()) {
                SessionFactory.Opened o = factory.open(graph);
                opened.put(graph, o);
                GraphContract.check(graph, ModelFiles.resolve(modelDir, manifest.graphs().get(graph).file()), o.session(), manifest);
            }
            return new OnnxGraphs(env, manifest, opened.get(Graph.VISION).session(), opened.get(Graph.EMBED).session(),
                    opened.get(Graph.DECODER).session(), opened.values().stream().map(SessionFactory.Opened::info).toList(),
                    factory.warnings(), settings);
        } catch (RuntimeException e) {
            opened.values().forEach(o -> closeQuietly(o.session()));
            throw e;
        }
    }

    /** Which provider runs each graph, whether its cache was used, and how long its session took. */
    public List<GraphSession> sessions() {
        return sessions;
    }

    /** What went wrong while the sessions were made without stopping them (fallbacks, ignored caches). */
    public List<String> warnings() {
        return warnings;
    }

    public ModelManifest manifest() {
        return manifest;
    }

    /**
     * Whether the decoder runs bound ({@link BoundDecoderState}): its contract reorders the cache
     * in the graph, and captionfn.model.io-binding is on.
     */
    public boolean bindsDecoder() {
        return settings.ioBinding() && manifest.decoder().reordersInGraph();
    }

    /** A new I/O binding on the decoder's session, its device outputs in its provider's memory. */
    IoBinding bindDecoder() {
        ExecutionProvider provider = sessions.stream().filter(s -> s.graph() == Graph.DECODER).findFirst()
                .map(GraphSession::provider).orElse(ExecutionProvider.CPU);
        return IoBinding.of(decoder, provider, settings.cuda().deviceId());
    }

    /**
     * The decoder's binding for one batch, the one the last batch gave back where there is one:
     * making a binding and its memory infos per batch cost more than a step. Taken by one batch at
     * a time; {@link #giveBack} it cleared.
     */
    IoBinding takeDecoderBinding() {
        IoBinding spare = spareBinding.getAndSet(null);
        return spare != null ? spare : bindDecoder();
    }

    void giveBack(IoBinding binding) {
        IoBinding displaced = spareBinding.getAndSet(binding);
        if (displaced != null) {
            displaced.close();
        }
    }

    OrtEnvironment env() {
        return env;
    }

    int layers() {
        return pastKeys.length;
    }

    String pastKey(int layer) {
        return pastKeys[layer];
    }

    String pastValue(int layer) {
        return pastValues[layer];
    }

    String presentKey(int layer) {
        return presentKeys[layer];
    }

    String presentValue(int layer) {
        return presentValues[layer];
    }

    /**
     * Runs the vision graph (ViT, Q-Former, projection).
     *
     * @param pixels [batch, 3, H, W]
     * @param qformerIds [batch, textLength], right-padded; ignored for families whose Q-Former reads no text
     * @return language_embeds [batch, queries, hidden]
     */
    public float[] languageEmbeds(float[] pixels, int batch, long[] qformerIds, long[] qformerMask, int textLength,
            OrtSession.RunOptions run) throws OrtException {
        var spec = manifest.graphs().vision();
        var image = manifest.image();
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try {
            inputs.put(spec.input(GraphContract.PIXEL_VALUES), OnnxTensor.createTensor(env, FloatBuffer.wrap(pixels),
                    new long[] {batch, 3, image.height(), image.width()}));
            if (manifest.family().qformerReadsInstruction()) {
                long[] shape = {batch, textLength};
                inputs.put(spec.input(GraphContract.QFORMER_INPUT_IDS), OnnxTensor.createTensor(env, LongBuffer.wrap(qformerIds), shape));
                inputs.put(spec.input(GraphContract.QFORMER_ATTENTION_MASK), OnnxTensor.createTensor(env, LongBuffer.wrap(qformerMask), shape));
            }
            try (OrtSession.Result result = vision.run(inputs, run)) {
                return floats(result, spec.output(GraphContract.LANGUAGE_EMBEDS));
            }
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    /** Runs the embed graph: input_ids [batch, length] to inputs_embeds [batch, length, hidden]. */
    public float[] embed(long[] ids, int batch, int length, OrtSession.RunOptions run) throws OrtException {
        try (OrtSession.Result result = embedResult(ids, batch, length, run)) {
            return floats(result, manifest.graphs().embed().output(GraphContract.INPUTS_EMBEDS));
        }
    }

    /**
     * The embed graph's result, for a caller that feeds its tensor ({@link #embedsOf}) straight to
     * the decoder without copying it out and back; the caller closes it.
     */
    OrtSession.Result embedResult(long[] ids, int batch, int length, OrtSession.RunOptions run) throws OrtException {
        var spec = manifest.graphs().embed();
        try (OnnxTensor input = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {batch, length})) {
            return embed.run(Map.of(spec.input(GraphContract.INPUT_IDS), input), run);
        }
    }

    OnnxTensor embedsOf(OrtSession.Result embedResult) {
        String name = manifest.graphs().embed().output(GraphContract.INPUTS_EMBEDS);
        return (OnnxTensor) embedResult.get(name)
                .orElseThrow(() -> new IllegalStateException("the embed graph gave no output '" + name + "'"));
    }

    /** Runs the decoder once; the caller owns the result and closes it. */
    OrtSession.Result decode(Map<String, OnnxTensor> inputs, OrtSession.RunOptions run) throws OrtException {
        return decoder.run(inputs, run);
    }

    String decoderInput(String role) {
        return manifest.graphs().decoder().input(role);
    }

    String decoderOutput(String role) {
        return manifest.graphs().decoder().output(role);
    }

    static float[] floats(OrtSession.Result result, String name) {
        OnnxTensor tensor = (OnnxTensor) result.get(name)
                .orElseThrow(() -> new IllegalStateException("the graph gave no output '" + name + "'"));
        FloatBuffer buffer = tensor.getFloatBuffer();
        float[] out = new float[buffer.remaining()];
        buffer.get(out);
        return out;
    }

    @Override
    public void close() {
        IoBinding spare = spareBinding.getAndSet(null);
        if (spare != null) {
            spare.close();
        }
        closeQuietly(vision);
        closeQuietly(embed);
        closeQuietly(decoder);
    }

    private static void closeQuietly(OrtSession session) {
        if (session != null) {
            try {
                session.close();
            } catch (OrtException e) {
                // closing at shutdown: nothing left to do with the error
            }
        }
    }
}
