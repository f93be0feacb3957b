"""The alignment engine: load resolved rows, build disagreement traces, distill guidelines
(offline or with a reflection LM), verify them on held-out rows with a judge model, and
store the result. Each phase is a step that reads what it needs and can be run again."""
