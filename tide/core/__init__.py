"""The bottom layer: helpers every package may use and that import nothing above them.

    files       atomic file writes and staged directories (a killed job never leaves half an output)
    intervals   confidence intervals and their one "value [low, high]" spelling
    telemetry   FLOP counts and MFU of training and generation
    domain      the study's constants: conditions, factor names, crisis patterns, output file names
    runtime     the process environment of a run (offline switches, paths from the project root)
    settings    settings as plain trees: the digest that names shared outputs, and what differs between two
"""
