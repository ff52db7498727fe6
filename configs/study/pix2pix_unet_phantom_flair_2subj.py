# Study "Pix2Pix U-Net (2)" on T1w -> FLAIR: the ResNet baseline's data and
# metric with the U-Net generator of configs/pix2pix/pix2pix_phantom_2subj.py.
_base_ = ['./pix2pix_phantom_flair_2subj.py']
model = dict(generator=dict(_delete_=True, type='UnetGenerator', in_channels=1,
                            out_channels=1, num_downs=7, ngf=32, norm='batch',
                            use_dropout=True),
             discriminator=dict(ndf=32, norm='batch'))
