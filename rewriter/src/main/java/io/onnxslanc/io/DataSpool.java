package io.onnxslanc.io;

import io.onnxslanc.ir.Tensor;
import io.onnxslanc.ir.Value;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * An external data file written ahead of its model ({@link ModelWriter#spool}): the weights stream out while
 * the graph is still being changed, and the final write adopts the file if its tensors are still exactly the ones
 * it would stream. SLaNC only adds small constants and never changes a weight, so for the pipeline the data file
 * of the converted model is known before the scales are. Closing an unadopted spool deletes its file.
 */
public final class DataSpool extends Spool {

    /** What was written where: enough to prove that another model's tensor has the same bytes. */
    private record Entry(String name, String contentKey, long byteSize, long offset) {
    }

    private final Path dataFile;
    private final WriteOptions options;
    private final List<Entry> entries;

    DataSpool(Path dataFile, WriteOptions options, List<Value> weights, long[] offsets, Path temp) {
        super(temp);
        this.dataFile = dataFile;
        this.options = options;
        this.entries = new ArrayList<>(weights.size());
        for (int i = 0; i < weights.size(); i++) {
            Tensor t = weights.get(i).constant();
            entries.add(new Entry(weights.get(i).name(), t.contentKey().orElse(null), t.byteSize(), offsets[i]));
        }
    }

    /** Number of tensors in the file. */
    public int tensorCount() {
        return entries.size();
    }

    /**
     * Whether writing {@code weights} to {@code target} with {@code writeOptions} would produce exactly this file:
     * same target, same layout options, and tensor for tensor the same name, size and content key (tensors that
     * cannot name their content never match).
     */
    boolean matches(Path target, WriteOptions writeOptions, List<Value> weights) {
        if (!holdsFile() || !target.equals(dataFile) || writeOptions.alignment() != options.alignment()
                || writeOptions.sizeThreshold() != options.sizeThreshold() || weights.size() != entries.size()) {
            return false;
        }
        for (int i = 0; i < weights.size(); i++) {
            Entry e = entries.get(i);
            Tensor t = weights.get(i).constant();
            Optional<String> key = t.contentKey();
            if (!e.name().equals(weights.get(i).name()) || e.byteSize() != t.byteSize() || e.contentKey() == null
                    || key.isEmpty() || !key.get().equals(e.contentKey())) {
                return false;
            }
        }
        return true;
    }

    long offset(int index) {
        return entries.get(index).offset();
    }

    @Override
    public String toString() {
        return "DataSpool[" + dataFile.getFileName() + ", " + entries.size() + " tensors, "
                + Arrays.toString(entries.stream().limit(3).map(Entry::name).toArray()) + "...]";
    }
}
