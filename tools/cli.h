// The `fiancee` command line: every subcommand and its options in one table
// (tools/cli.cc), parsed with CLI11 into the Options bag the command reads.
#pragma once

namespace fiancee::tools {

// Parses argv, applies the global options and runs the command. Returns the
// exit status: 0 success, 1 the command failed, 2 usage error.
int run_cli(int argc, char** argv);

}  // namespace fiancee::tools
