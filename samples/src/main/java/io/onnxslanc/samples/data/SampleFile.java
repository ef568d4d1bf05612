package io.onnxslanc.samples.data;

import java.net.URI;
import java.util.List;

/**
 * One file of the sample data folder, where it comes from and what it must be.
 *
 * @param relative path inside the data folder (the layout of {@code ../shared/data})
 * @param url      public location
 * @param sha256   the pinned sum of the file as stored (lower-case hex)
 * @param size     its size in bytes
 * @param excerpt  true when the source is the raw TinyStories text, of which the stored file holds the first
 *                 {@code size} bytes after {@link StoriesExcerpt}'s conversion; false when the source is the file itself
 */
public record SampleFile(String relative, URI url, String sha256, long size, boolean excerpt) {

    /** The stories260K demo's three files: the sums are those of the files in ../shared/data. */
    public static final List<SampleFile> STORIES260K = List.of(
            new SampleFile("stories260K/stories260K.bin",
                    URI.create("https://huggingface.co/karpathy/tinyllamas/resolve/main/stories260K/stories260K.bin"),
                    "b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696", 1_056_540, false),
            new SampleFile("stories260K/tok512.bin",
                    URI.create("https://huggingface.co/karpathy/tinyllamas/resolve/main/stories260K/tok512.bin"),
                    "037cb335abb25d1fa9e8ecae30ed2a3a8ace9302862ebcdc05d51a6bbb10c312", 6_227, false),
            new SampleFile("text/tinystories-val.txt",
                    URI.create("https://huggingface.co/datasets/roneneldan/TinyStories/resolve/main/TinyStories-valid.txt"),
                    "5fc1fb0113df62b567fb271806cd645ce8d75f59c58ca0b764c03d3b6ff34ca6", 794_375, true));

    /** The same files from a mirror of the data folder ({@code base}/stories260K/..., served as stored). */
    public static List<SampleFile> mirroredAt(URI base) {
        String b = base.toString().endsWith("/") ? base.toString() : base + "/";
        return STORIES260K.stream()
                .map(f -> new SampleFile(f.relative(), URI.create(b + f.relative()), f.sha256(), f.size(), false))
                .toList();
    }
}
