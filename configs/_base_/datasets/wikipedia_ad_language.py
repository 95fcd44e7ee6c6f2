# Wikipedia anomaly detection, language student: MiniLM-384 text features; teacher: SIFT-128 image features.
_base_ = ['./wikipedia_ad_vision.py']
student, teacher = 'minilm', 'sift'
train_dataloader = dict(dataset=dict(dataset=dict(student=student, teacher=teacher)))
val_dataloader = dict(dataset=dict(dataset=dict(student=student, teacher=teacher)))
test_dataloader = val_dataloader
