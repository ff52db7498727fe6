"""Peak resident memory (RSS) of one variant, measured in a fresh process.

RSS is a high-water mark of the whole process, so variants cannot share
one: the benchmark starts itself again with ``--memory-probe VARIANT``, and
that child builds the model, runs one iteration of the variant alone (the
first iteration allocates everything later ones reuse, the optimiser
states included) and prints its peak.
"""
import json
import resource
import subprocess

PROBE_TAG = 'MEMORY_PROBE '


def probe_report(runner, variant):
    """In the child: run ``variant`` once and return the line to print."""
    before = proc_status_mb('VmRSS')
    runner.run(variant)
    # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over from the
    # parent through fork and exec, VmHWM belongs to this process image.
    return PROBE_TAG + json.dumps({'peak_mem_mb': round(proc_status_mb('VmHWM'), 1),
                                   'rss_before_step_mb': round(before, 1)})


def proc_status_mb(field):
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process, from /proc."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_peak_memory(command, variant):
    """Peak RSS of ``command --memory-probe VARIANT`` (the benchmark's own
    command line): ``{'peak_mem_mb', 'rss_before_step_mb'}``."""
    done = subprocess.run([*command, '--memory-probe', variant.name], capture_output=True,
                          text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith(PROBE_TAG)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f'the memory probe of {variant.name} failed '
                           f'(exit code {done.returncode}):\n{done.stderr[-2000:]}')
    return json.loads(lines[-1][len(PROBE_TAG):])
