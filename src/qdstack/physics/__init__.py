"""Physics models: single dots, coupled dots, excitons on stacks, film simulation."""
