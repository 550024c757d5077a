package dev.captionfn.model;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.captionfn.generate.DecoderState;
import dev.captionfn.generate.DecodingConvention;
import dev.captionfn.generate.GenerationOptions;
import dev.captionfn.generate.Generator;
import dev.captionfn.generate.Search;
import dev.captionfn.generate.TokenSpace;
import dev.captionfn.modeldir.ModelManifest;
import dev.captionfn.ort.GraphSession;
import dev.captionfn.ort.OrtCallException;
import dev.captionfn.text.TokenizedBatch;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * InstructBLIP's forward pass on ONNX Runtime for a batch of requests: the vision graph turns
 * pixels and instruction into query embeddings, those embeddings and the embedded prompt prefill the
 * decoder, and each request's search (greedy or beam, its own options) decodes from there on a
 * shared decoder batch.
 */
public final class VisionLanguageModel implements AutoCloseable {
    /**
     * One request, prepared.
     *
     * @param pixelValues [3, H, W], normalised
     * @param qformerIds the instruction's Q-Former ids with [CLS] and [SEP]; ignored by BLIP-2
     * @param promptIds the language model's prompt ids, BOS first when the model uses one
     */
    public record Input(float[] pixelValues, long[] qformerIds, long[] promptIds, GenerationOptions options) {}

    /** Generated token ids per input (null for a withdrawn one), and where the time went. */
    public record Output(List<long[]> tokens, long visionNanos, long generateNanos) {}

    private final OnnxGraphs graphs;
    private final ModelManifest manifest;
    private final Decoding decoding;
    private final long qformerPadId;
    /** The decoder's gather buffers, kept between batches; taken by one generate at a time. */
    private final AtomicReference<ByteBuffer[]> spareScratch = new AtomicReference<>();

    public VisionLanguageModel(OnnxGraphs graphs, Decoding decoding, long qformerPadId) {
        this.decoding = decoding;
        this.graphs = graphs;
        this.manifest = graphs.manifest();
        this.qformerPadId = qformerPadId;
    }

    public ModelManifest manifest() {
        return manifest;
    }

    /** Which provider runs each graph and what its warm-start cache did. */
    public List<GraphSession> sessions() {
        return graphs.sessions();
    }

    OnnxGraphs graphs() {
        return graphs;
    }

    /** Whether the decoder runs through ONNX Runtime's I/O binding, its cache kept where it runs. */
    public boolean bindsDecoder() {
        return graphs.bindsDecoder();
    }

    /** Fallbacks and ignored caches met while the sessions were made. */
    public List<String> warnings() {
        return graphs.warnings();
    }

    /**
     * Generates for a batch whose callers may withdraw while it runs ({@link BatchControl}); a
     * withdrawn input's tokens are null. Once all are withdrawn, the run in progress stops and this
     * throws {@link ModelRunException}.
     */
    public Output generate(List<Input> inputs, BatchControl control) {
        if (inputs.isEmpty()) {
            return new Output(List.of(), 0, 0);
        }
        var run = control.runOptions();
        try {
            long t0 = System.nanoTime();
            float[] embeds = languageEmbeds(inputs, run);
            long t1 = System.nanoTime();
            int perRow = manifest.qformer().queryTokens() * manifest.llm().hiddenSize();
            List<DecoderRows.PrefillRow> rows = new ArrayList<>(inputs.size());
            for (int i = 0; i < inputs.size(); i++) {
                rows.add(new DecoderRows.PrefillRow(
                        Arrays.copyOfRange(embeds, i * perRow, (i + 1) * perRow), inputs.get(i).promptIds()));
            }
            List<long[]> tokens;
            if (graphs.bindsDecoder()) {
                try (BoundDecoderState state = BoundDecoderState.prefill(graphs, rows, manifest.llm().padId(), run)) {
                    tokens = decode(state, inputs, control);
                }
            } else {
                ByteBuffer[] taken = spareScratch.getAndSet(null);
                ByteBuffer[] scratch = taken != null ? taken : OnnxDecoderState.scratch(graphs);
                try (OnnxDecoderState state = OnnxDecoderState.prefill(graphs, rows, manifest.llm().padId(), run, scratch)) {
                    tokens = decode(state, inputs, control);
                } finally {
                    spareScratch.set(scratch);
                }
            }
            return new Output(tokens, t1 - t0, System.nanoTime() - t1);
        } catch (OrtException | OrtCallException e) {
            throw new ModelRunException("ONNX Runtime failed: " + e.getMessage(), e);
        }
    }

    private List<long[]> decode(DecoderState state, List<Input> inputs, BatchControl control) {
        TokenSpace space = new TokenSpace(
                manifest.llm().eosIds().stream().mapToLong(Long::longValue).toArray(),
                manifest.llm().vocabSize(), state.width());
        List<Search> searches = inputs.stream().map(in -> search(in, space)).toList();
        return Generator.run(state, searches, control::isWithdrawn);
    }

    /**
     * The search for one input: its options, under the model's convention, whose repetition penalty
     * may see the prompt as the reference's input_ids held it.
     */
    Search search(Input input, TokenSpace space) {
        DecodingConvention convention = decoding.convention();
        return Search.forOptions(input.options(), space, convention,
                convention.penalisedPromptIds(manifest.llm().imageTokenId(), input.promptIds()));
    }

    private float[] languageEmbeds(List<Input> inputs, OrtSession.RunOptions run) throws OrtException {
        int b = inputs.size();
        var image = manifest.image();
        int pixelsPerImage = 3 * image.height() * image.width();
        float[] pixels = new float[b * pixelsPerImage];
        for (int i = 0; i < b; i++) {
            float[] p = inputs.get(i).pixelValues();
            if (p.length != pixelsPerImage) {
                throw new IllegalArgumentException("pixel values must be 3x" + image.height() + "x" + image.width());
            }
            System.arraycopy(p, 0, pixels, i * pixelsPerImage, pixelsPerImage);
        }
        // each request's row padded here, once, with the rows it shares the batch with
        TokenizedBatch text = TokenizedBatch.rightPadded(inputs.stream().map(Input::qformerIds).toList(), qformerPadId);
        return graphs.languageEmbeds(pixels, b, text.ids(), text.attentionMask(), text.length(), run);
    }

    @Override
    public void close() {
        graphs.close();
    }
}
