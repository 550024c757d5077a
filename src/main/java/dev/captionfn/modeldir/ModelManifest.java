package dev.captionfn.modeldir;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * What model.json says about a model directory; see models/README.md for the file format.
 *
 * @param prompt the instruction used when a request brings none
 * @param generation the decoding options used where a request sets none, and the reference the
 *     model's decoding reproduces
 */
public record ModelManifest(
        String id,
        ModelFamily family,
        ImageSpec image,
        QFormerSpec qformer,
        LlmSpec llm,
        String prompt,
        Generation generation,
        Graphs graphs,
        DecoderContract decoder) {

    /**
     * Which contract the directory's decoder graph follows, from model.json's format (see
     * models/README.md). Version 1 feeds every past as the search ordered it and returns logits for
     * every position. Version 2 takes a {@code beam_idx} input and gathers the past rows itself, so
     * that a search's reorder happens where the cache lives and presents go back as pasts untouched,
     * and returns the last position's logits only; its cache may be float16.
     */
    public record DecoderContract(int version, KvType kv) {
        public static final DecoderContract V1 = new DecoderContract(1, KvType.FLOAT32);

        public DecoderContract {
            if (version < 1 || version > 2) {
                throw new IllegalArgumentException("decoder contract " + version + " is not 1 or 2");
            }
            if (version == 1 && kv != KvType.FLOAT32) {
                // a version 1 cache is gathered on the host, which reads float32 only
                throw new IllegalArgumentException("a float16 KV cache needs decoder contract 2");
            }
        }

        /** The graph gathers its past rows by beam_idx. */
        public boolean reordersInGraph() {
            return version >= 2;
        }
    }

    /** The element type of the KV cache (model.json's graphs.decoder.kv_dtype). */
    public enum KvType {
        FLOAT32("float32"),
        FLOAT16("float16");

        private final String id;

        KvType(String id) {
            this.id = id;
        }

        public String id() {
            return id;
        }

        public static Optional<KvType> byId(String id) {
            for (KvType t : values()) {
                if (t.id.equals(id)) {
                    return Optional.of(t);
                }
            }
            return Optional.empty();
        }
    }

    /**
     * model.json's generation section as written: its values are checked against what decoding
     * accepts where decoding is known (dev.captionfn.model.Decoding), so that this package stays a leaf.
     *
     * @param convention the reference the model's decoding reproduces ({@code generation.convention});
     *     the model's, never a request's; empty when model.json names none
     */
    public record Generation(int numBeams, int maxNewTokens, int minNewTokens, double repetitionPenalty, double lengthPenalty,
            boolean earlyStopping, Optional<String> convention) {}

    /** A file of the model directory and the sha256 it must have. */
    public record FileRef(String file, String sha256) {}

    /** How pixels are prepared: size, PIL resample filter, rescale factor, per-channel mean and std. */
    public record ImageSpec(int width, int height, String resample, double rescale, float[] mean, float[] std) {}

    /** The Q-Former's tokenizer and text limits, and how many query tokens it emits. */
    public record QFormerSpec(FileRef tokenizer, int maxLength, int queryTokens) {}

    /**
     * The language model's tokenizer and shape.
     *
     * @param bosId the id put before the prompt, or -1 for none (LAVIS puts {@code </s>} before Vicuna prompts)
     * @param vocabSize the tokenizer's vocabulary; logit columns past it are never generated
     * @param imageTokenId the HF processor's image placeholder ("&lt;image&gt;"), which transformers
     *     &ge; 4.47 puts before the prompt and so its repetition penalty sees; empty for none
     */
    public record LlmSpec(
            FileRef tokenizer,
            long bosId,
            List<Long> eosIds,
            long padId,
            int vocabSize,
            int hiddenSize,
            int layers,
            int kvHeads,
            int headSize,
            OptionalLong imageTokenId) {}

    /**
     * One ONNX graph: its file, its external data files and the tensor names it uses, by role.
     * Per-layer names carry {@code {i}} for the layer index.
     *
     * @param data the ONNX external data files that hold the weights of a graph over 2 GB, in the
     *     graph's own directory (ONNX Runtime reads them relative to the graph); empty for none
     */
    public record GraphSpec(FileRef file, List<FileRef> data, Map<String, String> inputs, Map<String, String> outputs) {
        public GraphSpec {
            data = List.copyOf(data);
        }

        public String input(String role) {
            return inputs.get(role);
        }

        public String output(String role) {
            return outputs.get(role);
        }
    }

    public record Graphs(GraphSpec vision, GraphSpec embed, GraphSpec decoder) {
        public List<GraphSpec> all() {
            return List.of(vision, embed, decoder);
        }

        public GraphSpec get(Graph graph) {
            return switch (graph) {
                case VISION -> vision;
                case EMBED -> embed;
                case DECODER -> decoder;
            };
        }
    }

    /** Every file the manifest names, graphs' external data included, for presence and hash checks. */
    public List<FileRef> files() {
        List<FileRef> files = new ArrayList<>(List.of(qformer.tokenizer(), llm.tokenizer()));
        for (GraphSpec graph : graphs.all()) {
            files.add(graph.file());
            files.addAll(graph.data());
        }
        return List.copyOf(files);
    }
}
