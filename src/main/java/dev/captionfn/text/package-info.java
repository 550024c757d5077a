/**
 * The two tokenizers of an InstructBLIP-style model, both read from HuggingFace
 * {@code tokenizer.json} files and run by DJL's binding of the HuggingFace tokenizers library.
 *
 * <ul>
 *   <li>{@link dev.captionfn.text.QFormerTokenizer}: the instruction for the Q-Former
 *       (bert-base-uncased WordPiece), as a right-padded {@code [B,T]} batch with left
 *       truncation, the way LAVIS calls {@code BertTokenizer(truncation_side="left")}.
 *   <li>{@link dev.captionfn.text.LlmTokenizer}: the prompt for the language model with the
 *       model's own BOS, and the caption decode (skip special tokens, then Python's
 *       {@code str.strip()}).
 * </ul>
 *
 * <p>Deployment notes on DJL (0.38), each an environment variable or a system property:
 * <ul>
 *   <li>It extracts {@code libtokenizers.so} on first use into
 *       {@code ~/.djl.ai/tokenizers/<version>-cpu-linux-x86_64/} (into {@code java.io.tmpdir} when
 *       the home directory is not writable); {@code DJL_CACHE_DIR} or {@code ENGINE_CACHE_DIR}
 *       moves it, and {@code RUST_LIBRARY_PATH} (the path of the {@code .so} file itself, not
 *       its folder) loads a library baked into a read-only image without writing anything.
 *   <li>On a host where it detects CUDA its loader looks for a GPU build of the tokenizers library,
 *       which the jar does not carry, and tries to download one (read from its LibUtils, not yet
 *       seen on a GPU host); {@code RUST_FLAVOR=cpu} or
 *       {@code DJL_OFFLINE=true} ({@code ai.djl.offline}) keeps it on the bundled CPU build.
 *   <li>Creating a tokenizer "calls home" on EC2 (instance metadata, then a telemetry URL, with
 *       1 s timeouts, at most once a day per JVM); {@code OPT_OUT_TRACKING=true} or offline mode
 *       turns that off.
 * </ul>
 */
package dev.captionfn.text;
