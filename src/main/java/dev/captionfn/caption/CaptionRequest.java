package dev.captionfn.caption;

/**
 * A request to caption one image.
 *
 * @param imageUrl required, http or https
 * @param prompt the instruction; the model's default prompt when absent
 * @param id the caller's correlation id; generated when absent
 * @param options generation options; the model's defaults when absent
 */
public record CaptionRequest(String imageUrl, String prompt, String id, CaptionOptions options) {}
