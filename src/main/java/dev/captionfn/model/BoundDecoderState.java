package dev.captionfn.model;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.captionfn.generate.DecoderState;
import dev.captionfn.modeldir.GraphContract;
import dev.captionfn.modeldir.ModelManifest;
import dev.captionfn.ort.HostTensors;
import dev.captionfn.ort.IoBinding;
import dev.captionfn.ort.NativeValue;
import dev.captionfn.ort.OrtCallException;
import java.util.ArrayList;
import java.util.List;

/**
 * The decoder's state on the bound path (decoder contract 2 only): the KV cache never leaves the
 * execution provider's memory. Each step binds the last step's presents as its pasts untouched and
 * {@code beam_idx} as the search's row order, which the graph gathers by; presents are bound to the
 * provider's memory and only the last position's logits come to the host. On a GPU that removes
 * every per-step copy of the cache; on the CPU the same calls run, and CI holds them to the
 * fixtures.
 */
final class BoundDecoderState implements DecoderState {
    private final OnnxGraphs graphs;
    private final OrtSession.RunOptions run;
    private final IoBinding binding;
    private final DecoderRows rows = new DecoderRows();
    private final boolean halfCache;
    /** The last run's presents, key then value per layer: the next step's pasts. */
    private List<NativeValue> presents = List.of();
    private float[] logits;
    private int width;

    private BoundDecoderState(OnnxGraphs graphs, OrtSession.RunOptions run) {
        this.graphs = graphs;
        this.run = run;
        this.halfCache = graphs.manifest().decoder().kv() == ModelManifest.KvType.FLOAT16;
        this.binding = graphs.takeDecoderBinding();
    }

    static BoundDecoderState prefill(OnnxGraphs graphs, List<DecoderRows.PrefillRow> batch, long padId, OrtSession.RunOptions run)
            throws OrtException {
        BoundDecoderState state = new BoundDecoderState(graphs, run);
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
        var llm = graphs.manifest().llm();
        try (HostTensors host = binding.hostTensors()) {
            try {
                binding.bindInput(input(GraphContract.INPUTS_EMBEDS),
                        host.floats(prefill.embeds(), b, prefill.length(), llm.hiddenSize()));
                for (int i = 0; i < graphs.layers(); i++) {
                    binding.bindInput(graphs.pastKey(i), host.empty(halfCache, b, llm.kvHeads(), 0, llm.headSize()));
                    binding.bindInput(graphs.pastValue(i), host.empty(halfCache, b, llm.kvHeads(), 0, llm.headSize()));
                }
                runBound(host, prefill.positions(), prefill.length(), DecoderRows.identity(b));
            } finally {
                binding.clearInputs();
            }
        }
    }

    @Override
    public void advance(int[] sourceRows, long[] tokens) {
        int r = sourceRows.length;
        long[] beamIdx = DecoderRows.beamIdx(sourceRows);
        try (OrtSession.Result embeds = graphs.embedResult(tokens, r, 1, run); HostTensors host = binding.hostTensors()) {
            try {
                DecoderRows.Step step = rows.advance(sourceRows);
                binding.bindInput(input(GraphContract.INPUTS_EMBEDS), graphs.embedsOf(embeds));
                for (int i = 0; i < graphs.layers(); i++) {
                    binding.bindInput(graphs.pastKey(i), presents.get(2 * i));
                    binding.bindInput(graphs.pastValue(i), presents.get(2 * i + 1));
                }
                runBound(host, step.positions(), 1, beamIdx);
            } finally {
                binding.clearInputs();
            }
        } catch (OrtException | OrtCallException e) {
            throw new ModelRunException("decoder step failed: " + e.getMessage(), e);
        }
    }

    /**
     * Binds the mask, positions and beam_idx, runs, reads the logits and keeps the presents. The
     * outputs are bound anew each run: outputs left bound from the last run would be taken as
     * buffers to write into, and the cache has grown by a position since.
     */
    private void runBound(HostTensors host, long[] positions, int length, long[] beamIdx) {
        int b = rows.rows();
        binding.bindInput(input(GraphContract.ATTENTION_MASK), host.longs(rows.mask(), b, rows.total()));
        binding.bindInput(input(GraphContract.POSITION_IDS), host.longs(positions, b, length));
        binding.bindInput(input(GraphContract.BEAM_IDX), host.longs(beamIdx, b));
        binding.clearOutputs();
        binding.bindOutputToCpu(graphs.decoderOutput(GraphContract.LOGITS));
        for (int i = 0; i < graphs.layers(); i++) {
            binding.bindOutputToDevice(graphs.presentKey(i));
            binding.bindOutputToDevice(graphs.presentValue(i));
        }
        List<NativeValue> out = binding.run(run);
        try (NativeValue logitsOut = out.get(0)) {
            logits = logitsOut.lastPositions();
            width = logits.length / b;
        } catch (RuntimeException e) {
            out.subList(1, out.size()).forEach(NativeValue::close);
            throw e;
        }
        List<NativeValue> previous = presents;
        presents = new ArrayList<>(out.subList(1, out.size()));
        // the binding holds its own references to the pasts it ran on until clearInputs
        previous.forEach(NativeValue::close);
    }

    private String input(String role) {
        return graphs.decoderInput(role);
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
        try {
            presents.forEach(NativeValue::close);
            presents = List.of();
            binding.clearInputs();
            binding.clearOutputs();
            graphs.giveBack(binding);
        } catch (RuntimeException e) {
            binding.close();
            throw e;
        }
    }
}
