package dev.captionfn.ort;

import dev.captionfn.modeldir.Graph;
import dev.captionfn.modeldir.GraphContract;
import dev.captionfn.modeldir.ModelManifest;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * TensorRT's optimisation profile for one graph: the smallest, the typical and the largest shape of
 * each input, in the provider's {@code name:d0xd1x…} form. An engine built for this profile serves
 * every request the server admits, so TensorRT never has to build again while serving.
 *
 * <p>The bounds come from model.json (image size, queries, Q-Former length, KV heads and head size)
 * and the server's limits; the typical shape is the default request (the model's prompt, its beams,
 * half its new tokens into the caption), which TensorRT tunes its kernels for.
 */
public record ProfileShapes(String min, String opt, String max) {

    /** What the default request looks like once tokenized. */
    public record DefaultRequest(int qformerLength, int promptTokens) {}

    /**
     * The profiles of the graphs whose providers include TensorRT, and of no other: a graph kept off
     * TensorRT (the decoder on CUDA, say) gets no profile, and so no engine is ever built for it.
     */
    static Map<Graph, ProfileShapes> forTensorRt(ModelManifest m, SessionSettings settings, DefaultRequest typical) {
        Map<Graph, ProfileShapes> profiles = new EnumMap<>(Graph.class);
        for (Graph graph : Graph.values()) {
            if (settings.providers(graph).contains(ExecutionProvider.TENSORRT)) {
                profiles.put(graph, switch (graph) {
                    case VISION -> vision(m, settings.shapes(), typical);
                    case EMBED -> embed(m, settings.shapes(), typical);
                    case DECODER -> decoder(m, settings.shapes(), typical);
                });
            }
        }
        return profiles;
    }

    static ProfileShapes vision(ModelManifest m, SessionSettings.ShapeLimits limits, DefaultRequest typical) {
        var spec = m.graphs().vision();
        int rows = limits.maxRows();
        var shapes = new Shapes();
        String pixels = GraphContract.name(m, spec, true, GraphContract.PIXEL_VALUES);
        int h = m.image().height();
        int w = m.image().width();
        shapes.add(pixels, dims(1, 3, h, w), dims(1, 3, h, w), dims(rows, 3, h, w));
        if (m.family().qformerReadsInstruction()) {
            int t = m.qformer().maxLength();
            for (String role : new String[] {GraphContract.QFORMER_INPUT_IDS, GraphContract.QFORMER_ATTENTION_MASK}) {
                shapes.add(GraphContract.name(m, spec, true, role), dims(1, 1), dims(1, Math.min(typical.qformerLength(), t)), dims(rows, t));
            }
        }
        return shapes.build();
    }

    /** The embed graph sees the prompts at prefill and one token per row at each step. */
    static ProfileShapes embed(ModelManifest m, SessionSettings.ShapeLimits limits, DefaultRequest typical) {
        int beams = Math.min(m.generation().numBeams(), limits.maxRows());
        var shapes = new Shapes();
        shapes.add(GraphContract.name(m, m.graphs().embed(), true, GraphContract.INPUT_IDS),
                dims(1, 1), dims(beams, 1), dims(limits.maxRows(), limits.maxPromptTokens()));
        return shapes.build();
    }

    /**
     * The decoder sees the queries and the prompt at prefill (no past), then one token per row
     * with a past that grows to the longest caption.
     */
    static ProfileShapes decoder(ModelManifest m, SessionSettings.ShapeLimits limits, DefaultRequest typical) {
        var spec = m.graphs().decoder();
        var llm = m.llm();
        int rows = limits.maxRows();
        int beams = Math.min(m.generation().numBeams(), rows);
        int queries = m.qformer().queryTokens();
        int prefillMax = queries + limits.maxPromptTokens();
        int totalMax = prefillMax + limits.maxNewTokens();
        int typicalPast = queries + typical.promptTokens() + m.generation().maxNewTokens() / 2;
        int hidden = llm.hiddenSize();
        var shapes = new Shapes();
        shapes.add(GraphContract.name(m, spec, true, GraphContract.INPUTS_EMBEDS),
                dims(1, 1, hidden), dims(beams, 1, hidden), dims(rows, prefillMax, hidden));
        shapes.add(GraphContract.name(m, spec, true, GraphContract.ATTENTION_MASK),
                dims(1, 1), dims(beams, typicalPast + 1), dims(rows, totalMax));
        shapes.add(GraphContract.name(m, spec, true, GraphContract.POSITION_IDS),
                dims(1, 1), dims(beams, 1), dims(rows, prefillMax));
        if (m.decoder().reordersInGraph()) {
            shapes.add(GraphContract.name(m, spec, true, GraphContract.BEAM_IDX), dims(1), dims(beams), dims(rows));
        }
        for (int i = 0; i < llm.layers(); i++) {
            for (String role : new String[] {GraphContract.PAST_KEY, GraphContract.PAST_VALUE}) {
                // an empty past at prefill: the smallest past is 0 long
                shapes.add(GraphContract.layerName(m, spec, true, role, i), dims(1, llm.kvHeads(), 0, llm.headSize()),
                        dims(beams, llm.kvHeads(), typicalPast, llm.headSize()),
                        dims(rows, llm.kvHeads(), totalMax - 1, llm.headSize()));
            }
        }
        return shapes.build();
    }

    private static long[] dims(long... d) {
        return d;
    }

    private static final class Shapes {
        private final Map<String, long[][]> byInput = new LinkedHashMap<>();

        void add(String input, long[] min, long[] opt, long[] max) {
            byInput.put(input, new long[][] {min, opt, max});
        }

        ProfileShapes build() {
            return new ProfileShapes(format(0), format(1), format(2));
        }

        private String format(int which) {
            return byInput.entrySet().stream()
                    .map(e -> e.getKey() + ":" + Arrays.stream(e.getValue()[which]).mapToObj(Long::toString)
                            .collect(Collectors.joining("x")))
                    .collect(Collectors.joining(","));
        }
    }
}
