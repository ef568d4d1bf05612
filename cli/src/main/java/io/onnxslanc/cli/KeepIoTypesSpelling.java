package io.onnxslanc.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Stack;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Keeps the older spelling {@code --keep-io-types=a,b} working now that {@code --keep-io-types} is a flag: a value
 * attached with '=' is moved to {@code --keep-io-types-names}. A separate word after the flag is never taken, so
 * {@code --keep-io-types IN OUT} reads both paths.
 */
final class KeepIoTypesSpelling implements CommandLine.IParameterPreprocessor {
    static final String NAMES_OPTION = "--keep-io-types-names";

    @Override
    public boolean preprocess(Stack<String> args, CommandSpec command, ArgSpec flag, Map<String, Object> info) {
        Object separator = info.get("separator");
        if (separator == null || separator.toString().isBlank()) { // " " when nothing is attached
            return false; // the plain flag: picocli sets it
        }
        String value = args.pop();
        OptionSpec names = command.findOption(NAMES_OPTION);
        List<String> list = new ArrayList<>();
        List<String> already = names.getValue();
        if (already != null) {
            list.addAll(already);
        }
        for (String n : value.split(",")) {
            if (!n.isBlank()) {
                list.add(n.strip());
            }
        }
        if (list.isEmpty()) {
            throw new CommandLine.ParameterException(command.commandLine(), "--keep-io-types=" + value
                    + ": no names given (use --keep-io-types alone for all inputs and outputs)");
        }
        names.setValue(list);
        return true;
    }
}
