# Study v2, data-size curve: the toolbox's best FGSB trained on 6 subjects
# (the seed-0 choice among the 6 left after the validation carve-out; the
# choice is nested, so the 2 of the "(2)" row are among them), same schedule
# and stopping rule as every row.
_base_ = ['./fgsb_best_t2_2subj.py']
train_dataloader = dict(dataset=dict(dataset=dict(num_subjects=6)))
