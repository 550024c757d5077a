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
 * <p>DJL's environment (where it unpacks its native library, its GPU probe, its telemetry) is set
 * by deployment, not here: README, "DJL's tokenizers in an image".
 */
package dev.captionfn.text;
