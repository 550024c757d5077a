package dev.captionfn.modeldir;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Checks a loaded session against what model.json and the server expect of it, so that a
 * misnamed tensor or a wrong width stops startup with a message listing what the graph really
 * has, instead of failing at the first request.
 */
public final class GraphContract {
    /** Tensor roles, as the keys of model.json's graphs.*.inputs and graphs.*.outputs. */
    public static final String PIXEL_VALUES = "pixel_values";
    public static final String QFORMER_INPUT_IDS = "qformer_input_ids";
    public static final String QFORMER_ATTENTION_MASK = "qformer_attention_mask";
    public static final String LANGUAGE_EMBEDS = "language_embeds";
    public static final String INPUT_IDS = "input_ids";
    public static final String INPUTS_EMBEDS = "inputs_embeds";
    public static final String ATTENTION_MASK = "attention_mask";
    public static final String POSITION_IDS = "position_ids";
    /** Decoder contract 2: which past row each new row continues, gathered inside the graph. */
    public static final String BEAM_IDX = "beam_idx";
    public static final String PAST_KEY = "past_key";
    public static final String PAST_VALUE = "past_value";
    public static final String LOGITS = "logits";
    public static final String PRESENT_KEY = "present_key";
    public static final String PRESENT_VALUE = "present_value";
    /** Placeholder for the layer index in per-layer tensor names. */
    public static final String LAYER = "{i}";

    private GraphContract() {}

    private static List<TensorExpectation> visionInputs(ModelManifest m) {
        var spec = m.graphs().vision();
        List<TensorExpectation> in = new ArrayList<>();
        in.add(TensorExpectation.of(PIXEL_VALUES, name(m, spec, true, PIXEL_VALUES), OnnxJavaType.FLOAT, 4)
                .withDim(1, 3).withDim(2, m.image().height()).withDim(3, m.image().width()));
        if (m.family().qformerReadsInstruction()) {
            in.add(TensorExpectation.of(QFORMER_INPUT_IDS, name(m, spec, true, QFORMER_INPUT_IDS), OnnxJavaType.INT64, 2));
            in.add(TensorExpectation.of(QFORMER_ATTENTION_MASK, name(m, spec, true, QFORMER_ATTENTION_MASK), OnnxJavaType.INT64, 2));
        }
        return in;
    }

    private static List<TensorExpectation> visionOutputs(ModelManifest m) {
        return List.of(TensorExpectation.of(LANGUAGE_EMBEDS, name(m, m.graphs().vision(), false, LANGUAGE_EMBEDS), OnnxJavaType.FLOAT, 3)
                .withDim(1, m.qformer().queryTokens()).withDim(2, m.llm().hiddenSize()));
    }

    private static List<TensorExpectation> embedInputs(ModelManifest m) {
        return List.of(TensorExpectation.of(INPUT_IDS, name(m, m.graphs().embed(), true, INPUT_IDS), OnnxJavaType.INT64, 2));
    }

    private static List<TensorExpectation> embedOutputs(ModelManifest m) {
        return List.of(TensorExpectation.of(INPUTS_EMBEDS, name(m, m.graphs().embed(), false, INPUTS_EMBEDS), OnnxJavaType.FLOAT, 3)
                .withDim(2, m.llm().hiddenSize()));
    }

    private static List<TensorExpectation> decoderInputs(ModelManifest m) {
        var spec = m.graphs().decoder();
        List<TensorExpectation> in = new ArrayList<>();
        in.add(TensorExpectation.of(INPUTS_EMBEDS, name(m, spec, true, INPUTS_EMBEDS), OnnxJavaType.FLOAT, 3)
                .withDim(2, m.llm().hiddenSize()));
        in.add(TensorExpectation.of(ATTENTION_MASK, name(m, spec, true, ATTENTION_MASK), OnnxJavaType.INT64, 2));
        in.add(TensorExpectation.of(POSITION_IDS, name(m, spec, true, POSITION_IDS), OnnxJavaType.INT64, 2));
        if (m.decoder().reordersInGraph()) {
            in.add(TensorExpectation.of(BEAM_IDX, name(m, spec, true, BEAM_IDX), OnnxJavaType.INT64, 1));
        }
        for (int i = 0; i < m.llm().layers(); i++) {
            for (String role : List.of(PAST_KEY, PAST_VALUE)) {
                in.add(cache(m, role + "." + i, layerName(m, spec, true, role, i)));
            }
        }
        return in;
    }

    private static List<TensorExpectation> decoderOutputs(ModelManifest m) {
        var spec = m.graphs().decoder();
        List<TensorExpectation> out = new ArrayList<>();
        out.add(TensorExpectation.of(LOGITS, name(m, spec, false, LOGITS), OnnxJavaType.FLOAT, 3));
        for (int i = 0; i < m.llm().layers(); i++) {
            for (String role : List.of(PRESENT_KEY, PRESENT_VALUE)) {
                out.add(cache(m, role + "." + i, layerName(m, spec, false, role, i)));
            }
        }
        return out;
    }

    /**
     * The LM head must cover the tokenizer's vocabulary; wider is fine (padded heads are masked),
     * narrower would leave tokens that can never be generated and ids the tokenizer cannot place.
     * The image placeholder id, where model.json names one, must be one of its columns.
     */
    private static void checkLogitsWidth(Path file, OrtSession decoder, ModelManifest m) {
        try {
            String name = m.graphs().decoder().output(LOGITS);
            if (decoder.getOutputInfo().get(name).getInfo() instanceof TensorInfo info) {
                long width = info.getShape()[2];
                if (width > 0 && width < m.llm().vocabSize()) {
                    throw new ModelLoadException(file + ": output '" + name + "' is " + width
                            + " wide, narrower than model.json's llm.vocab_size " + m.llm().vocabSize());
                }
                // the transformers convention penalises the image placeholder's logit column
                if (width > 0 && m.llm().imageTokenId().isPresent() && m.llm().imageTokenId().getAsLong() >= width) {
                    throw new ModelLoadException(file + ": model.json's llm.image_token_id "
                            + m.llm().imageTokenId().getAsLong() + " is no column of output '" + name + "', which is "
                            + width + " wide");
                }
            }
        } catch (OrtException e) {
            throw new ModelLoadException(file + ": cannot read the graph's outputs: " + e.getMessage(), e);
        }
    }

    private static TensorExpectation cache(ModelManifest m, String role, String name) {
        OnnxJavaType type = m.decoder().kv() == ModelManifest.KvType.FLOAT16 ? OnnxJavaType.FLOAT16 : OnnxJavaType.FLOAT;
        return TensorExpectation.of(role, name, type, 4)
                .withDim(1, m.llm().kvHeads()).withDim(3, m.llm().headSize());
    }

    public static String layerName(ModelManifest m, ModelManifest.GraphSpec spec, boolean input, String role, int layer) {
        String pattern = name(m, spec, input, role);
        if (!pattern.contains(LAYER)) {
            throw new ModelLoadException("model.json: graphs.decoder." + (input ? "inputs." : "outputs.") + role
                    + " must contain " + LAYER + " for the layer index, was '" + pattern + "'");
        }
        return pattern.replace(LAYER, Integer.toString(layer));
    }

    public static String name(ModelManifest m, ModelManifest.GraphSpec spec, boolean input, String role) {
        String name = input ? spec.input(role) : spec.output(role);
        if (name == null) {
            throw new ModelLoadException("model.json: graphs." + graphName(m, spec) + (input ? ".inputs." : ".outputs.")
                    + role + " is missing");
        }
        return name;
    }

    private static String graphName(ModelManifest m, ModelManifest.GraphSpec spec) {
        var g = m.graphs();
        return spec == g.vision() ? "vision" : spec == g.embed() ? "embed" : "decoder";
    }

    /**
     * Checks the session: every expected tensor present with its type, rank and fixed widths, and no
     * graph input left that the server would not feed.
     */
    /** Checks one graph's session against everything model.json and the server expect of that graph. */
    public static void check(Graph graph, Path file, OrtSession session, ModelManifest m) {
        switch (graph) {
            case VISION -> check(file, session, visionInputs(m), visionOutputs(m));
            case EMBED -> check(file, session, embedInputs(m), embedOutputs(m));
            case DECODER -> {
                check(file, session, decoderInputs(m), decoderOutputs(m));
                checkLogitsWidth(file, session, m);
            }
        }
    }

    private static void check(Path file, OrtSession session, List<TensorExpectation> inputs, List<TensorExpectation> outputs) {
        try {
            Map<String, NodeInfo> actualIn = session.getInputInfo();
            Map<String, NodeInfo> actualOut = session.getOutputInfo();
            List<String> problems = new ArrayList<>();
            checkAll("input", inputs, actualIn, problems);
            checkAll("output", outputs, actualOut, problems);
            Set<String> fed = new HashSet<>();
            inputs.forEach(e -> fed.add(e.name()));
            actualIn.keySet().stream().filter(n -> !fed.contains(n)).sorted()
                    .forEach(n -> problems.add("graph input '" + n + "' is not named in model.json, so nothing would feed it"));
            if (!problems.isEmpty()) {
                throw new ModelLoadException(file + ": " + String.join("; ", problems)
                        + ". The graph has inputs " + describe(actualIn) + " and outputs " + describe(actualOut));
            }
        } catch (OrtException e) {
            throw new ModelLoadException(file + ": cannot read the graph's inputs and outputs: " + e.getMessage(), e);
        }
    }

    private static void checkAll(String kind, List<TensorExpectation> expected, Map<String, NodeInfo> actual, List<String> problems) {
        for (TensorExpectation e : expected) {
            NodeInfo node = actual.get(e.name());
            if (node == null) {
                problems.add(kind + " '" + e.name() + "' (" + e.role() + ") is not in the graph");
                continue;
            }
            if (!(node.getInfo() instanceof TensorInfo info)) {
                problems.add(kind + " '" + e.name() + "' is not a tensor");
                continue;
            }
            if (info.type != e.type()) {
                problems.add(kind + " '" + e.name() + "' is " + info.type + ", expected " + e.type());
            }
            long[] shape = info.getShape();
            if (shape.length != e.rank()) {
                problems.add(kind + " '" + e.name() + "' has rank " + shape.length + " " + Arrays.toString(shape)
                        + ", expected rank " + e.rank());
                continue;
            }
            e.fixedDims().forEach((axis, size) -> {
                if (shape[axis] > 0 && shape[axis] != size) {
                    problems.add(kind + " '" + e.name() + "' has size " + shape[axis] + " on axis " + axis
                            + " " + Arrays.toString(shape) + ", model.json implies " + size);
                }
            });
        }
    }

    private static String describe(Map<String, NodeInfo> nodes) {
        return nodes.values().stream().map(n -> {
            if (n.getInfo() instanceof TensorInfo t) {
                return n.getName() + " " + t.type + Arrays.toString(t.getShape());
            }
            return n.getName();
        }).collect(Collectors.joining(", ", "[", "]"));
    }
}
