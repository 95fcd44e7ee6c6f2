# Wikipedia, language student: MiniLM-384 text features; teacher: SIFT-128 image features.
_base_ = ['./wikipedia_vision.py']
student, teacher = 'minilm', 'sift'
train_dataloader = dict(dataset=dict(student=student, teacher=teacher))
val_dataloader = dict(dataset=dict(student=student, teacher=teacher))
test_dataloader = val_dataloader
