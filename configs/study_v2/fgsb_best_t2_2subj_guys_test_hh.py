# Study v2, across sites: the seeds of fgsb_best_t2_2subj_guys.py (trained at
# Guy's) scored on the test subjects of site 'hh' only.
_base_ = ['./fgsb_best_t2_2subj_guys.py']
test_dataloader = dict(dataset=dict(sites=['hh']))
